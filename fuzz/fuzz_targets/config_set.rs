//! The `set`-form parser never panics, and whatever it accepts round-trips through the set form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use savin_config::Configuration;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = Configuration::parse_set(text, Some("fuzz")) {
        let printed = c.to_set();
        let again = Configuration::parse_set(&printed, None).expect("printed set form parses");
        assert_eq!(again.to_set(), printed);
        let _ = Configuration::default().compare(&c);
    }
});
