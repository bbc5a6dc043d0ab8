//! The curly-brace parser never panics, and whatever it accepts prints and parses back to
//! the same configuration; checking it, expanding its groups and compiling its filters never
//! panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use savin_config::Configuration;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = Configuration::parse(text, Some("fuzz")) {
        let printed = c.to_curly();
        let again = Configuration::parse(&printed, None).expect("printed configuration parses");
        assert_eq!(again, c, "round trip changed the configuration:\n{printed}");
        let _ = c.to_json();
        let _ = c.typed();
        // The commit checks, groups and ranges expanded, the firewall and policy compiles:
        // what a commit of hostile text runs.
        if let Ok(t) = c.check() {
            let _ = savin_filter::compile(&t);
            let _ = savin_policy::Policies::compile(&t.policy_options);
        }
        let _ = c.expanded();
    }
});
