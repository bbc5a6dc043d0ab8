//! Configuration-mode command lines as an operator types them (abbreviations, edit levels,
//! deactivate/annotate), and TAB completion on each: never a panic; the result stays printable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use savin_config::complete::complete;
use savin_config::parse::{command_words, Editor};
use savin_config::Configuration;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut cfg = Configuration::default();
    let mut editor = Editor::new(true);
    for line in text.lines().take(64) {
        let Ok(words) = command_words(line) else {
            continue;
        };
        let _ = complete(&cfg.root, &editor.level, &words, "");
        if words
            .first()
            .is_some_and(|w| savin_config::parse::is_edit_command(&w.text))
        {
            let _ = editor.exec(&mut cfg.root, &words);
        }
    }
    let printed = cfg.to_curly();
    Configuration::parse(&printed, None).expect("the edited configuration prints as valid text");
});
