use savin_config::Configuration;
#[test]
fn scratch() {
    let text = std::fs::read_to_string("/tmp/t1.conf").unwrap();
    match Configuration::parse(&text, None) {
        Err(e) => println!("PARSE: {e}"),
        Ok(c) => match c.check() {
            Ok(_) => println!("OK"),
            Err(e) => for x in e { println!("ERR: {x}") },
        },
    }
}
