//! Property tests: for configurations generated from the schema, printing and parsing again
//! gives the same configuration, in both text forms; and the typed model accepts every
//! statement the schema has (so the two cannot drift apart).

use proptest::prelude::*;
use savin_config::Configuration;

mod generate;
use generate::generate;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn curly_form_round_trips(seed in any::<u64>()) {
        let c = generate(seed);
        let text = c.to_curly();
        let back = Configuration::parse(&text, None).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&back, &c, "{}", text);
    }

    #[test]
    fn set_form_round_trips(seed in any::<u64>()) {
        let mut c = generate(seed);
        let text = c.to_set();
        let back = Configuration::parse_set(&text, None).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        savin_config::tree::strip_comments(&mut c.root);
        prop_assert_eq!(&back, &c, "{}", text);
    }

    #[test]
    fn the_expanded_configuration_is_the_same_after_printing_and_parsing(seed in any::<u64>()) {
        let c = generate(seed);
        let expanded = c.expanded().map_err(TestCaseError::fail)?;
        let back = Configuration::parse(&c.to_curly(), None).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&back.expanded().map_err(TestCaseError::fail)?, &expanded);
        // The expanded form is a configuration of its own: no groups left, and it too prints
        // and parses back the same.
        let text = expanded.to_curly();
        prop_assert!(!text.contains("apply-groups"), "{}", text);
        let again = Configuration::parse(&text, None).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&again, &expanded, "{}", text);
    }

    #[test]
    fn the_typed_model_accepts_every_schema_statement(seed in any::<u64>()) {
        let c = generate(seed);
        prop_assert!(c.typed().is_ok(), "{:?}\n{}", c.typed().err(), c.to_curly());
    }

    #[test]
    fn compare_is_empty_exactly_when_equal(a in any::<u64>(), b in any::<u64>()) {
        let (x, y) = (generate(a), generate(b));
        prop_assert_eq!(x.compare(&y).is_empty(), x == y);
        prop_assert!(x.compare(&x).is_empty());
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(s in "\\PC{0,200}") {
        let _ = Configuration::parse(&s, None);
        let _ = Configuration::parse_set(&s, None);
    }
}

/// `replace:` tags are for `load replace` only: an empty block they tagged is as absent as an
/// untagged empty block, so the configuration prints and parses back the same (the
/// config_curly fuzz target found `replace: vlans;` kept as an empty `vlans` that printed as
/// nothing).
#[test]
fn an_empty_block_tagged_replace_is_no_block() {
    for text in [
        "replace: vlans;",
        "replace: vlans { }",
        "\nreplace:\nvlans\n;",
    ] {
        let c = Configuration::parse(text, None).unwrap();
        assert_eq!(c, Configuration::default(), "{text:?}");
        let back = Configuration::parse(&c.to_curly(), None).unwrap();
        assert_eq!(back, c);
    }
    // A tagged block with contents keeps them (only the tag goes).
    let c = Configuration::parse("replace: vlans { v10 { vlan-id 10; } }", None).unwrap();
    assert_eq!(Configuration::parse(&c.to_curly(), None).unwrap(), c);
    assert!(c.to_curly().contains("vlan-id 10;"), "{}", c.to_curly());
}

/// Found by fuzzing: `edit interfaces`, `set "apply-groups"` makes an interface named like
/// the statement beside it; printed bare it read back as `apply-groups` without a value.
#[test]
fn an_entry_named_like_a_keyword_prints_quoted_and_reads_back() {
    use savin_config::parse::{command_words, Editor};
    let mut cfg = Configuration::default();
    let mut editor = Editor::new(true);
    for line in [
        "edit interfaces",
        "set \"apply-groups\" description x",
        "top",
    ] {
        editor
            .exec(&mut cfg.root, &command_words(line).unwrap())
            .unwrap();
    }
    let curly = cfg.to_curly();
    assert!(curly.contains("\"apply-groups\" {"), "{curly}");
    assert_eq!(Configuration::parse(&curly, None).unwrap(), cfg);
    let set = cfg.to_set();
    assert!(
        set.contains("set interfaces \"apply-groups\" description x"),
        "{set}"
    );
    assert_eq!(Configuration::parse_set(&set, None).unwrap(), cfg);
}
