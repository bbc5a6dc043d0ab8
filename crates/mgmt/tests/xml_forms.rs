//! The XML and JSON configuration forms NETCONF carries round-trip like the curly and set
//! forms: for configurations generated from the schema, printing as XML (or JSON), reading
//! that back as a client's `<configuration>` and loading it gives the same configuration.

#[path = "../../config/tests/generate/mod.rs"]
mod generate;

use proptest::prelude::*;
use savin_config::Configuration;
use savin_mgmt::netconf::{configuration_element_of_json, configuration_text, configuration_xml};

fn load(text: &str, deletes: &[String]) -> Result<Configuration, String> {
    assert!(
        deletes.is_empty(),
        "a printed configuration deletes nothing"
    );
    Configuration::parse(text, None).map_err(|e| format!("{e}\n{text}"))
}

/// The first lines where two texts differ.
fn similar_text(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let at = w
        .iter()
        .zip(&g)
        .position(|(a, b)| a != b)
        .unwrap_or(w.len().min(g.len()));
    let from = at.saturating_sub(3);
    format!(
        "differ at line {at}:\n--- want\n{}\n--- got\n{}",
        w[from..(at + 5).min(w.len())].join("\n"),
        g[from..(at + 5).min(g.len())].join("\n")
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn xml_form_round_trips(seed in any::<u64>()) {
        let c = generate::generate(seed);
        let xml = configuration_xml(&c);
        let el = savin_netconf::xml::parse(&xml, 1 << 20).map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
        let (text, deletes) = configuration_text(&el).map_err(TestCaseError::fail)?;
        let back = load(&text, &deletes).map_err(TestCaseError::fail)?;
        prop_assert!(back == c, "{}", similar_text(&c.to_curly(), &back.to_curly()));
    }

    #[test]
    fn json_form_round_trips_but_for_annotations(seed in any::<u64>()) {
        // JSON carries inactive statements and annotations as `@` members; annotations are
        // dropped when JSON is loaded, as Junos drops them.
        let mut c = generate::generate(seed);
        let json = savin_config::print::json(&c.root, savin_config::schema::root(), true);
        let el = configuration_element_of_json(&serde_json::json!({"configuration": json}));
        let (text, deletes) = configuration_text(&el).map_err(TestCaseError::fail)?;
        let back = load(&text, &deletes).map_err(TestCaseError::fail)?;
        savin_config::tree::strip_comments(&mut c.root);
        prop_assert!(back == c, "{}", similar_text(&c.to_curly(), &back.to_curly()));
    }
}

#[test]
fn elements_marked_delete_are_deleted_and_unknown_ones_refused() {
    let el = savin_netconf::xml::parse(
        r#"<configuration><system><host-name>r2</host-name><domain-name delete="delete"/></system><interfaces><interface operation="delete"><name>ge-0/0/1</name></interface></interfaces></configuration>"#,
        100,
    )
    .unwrap();
    let (text, deletes) = configuration_text(&el).unwrap();
    assert!(text.contains("host-name r2;"), "{text}");
    assert_eq!(
        deletes,
        ["delete system domain-name", "delete interfaces ge-0/0/1"]
    );
    let bad = savin_netconf::xml::parse(
        "<configuration><system><frobnicate>1</frobnicate></system></configuration>",
        100,
    )
    .unwrap();
    let e = configuration_text(&bad).unwrap_err();
    assert!(
        e.contains("[edit system]") && e.contains("<frobnicate>"),
        "{e}"
    );
}
