//! docs/BRIDGE.md's error code table lists exactly the codes of
//! `ErrorCode`, with their numbers and names, in order.

use sealcam_bridge::ErrorCode;

/// The rows of the table under "## Error codes": (number, name).
fn documented() -> Vec<(u32, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/BRIDGE.md");
    let text = std::fs::read_to_string(path).expect("docs/BRIDGE.md");
    let section = text
        .split("\n## Error codes\n")
        .nth(1)
        .expect("an \"Error codes\" section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut lines = section
        .lines()
        .skip_while(|l| !l.starts_with("| code | name |"));
    lines.next().expect("the table's header");
    let separator = lines.next().expect("the table's separator line");
    assert!(separator.starts_with("|---"), "{separator}");
    lines
        .take_while(|l| l.starts_with('|'))
        .map(|row| {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            // "", code, name, meaning, what the user is told, "".
            assert_eq!(cells.len(), 6, "a row needs four cells: {row}");
            assert!(
                !cells[3].is_empty() && !cells[4].is_empty(),
                "meaning and message: {row}"
            );
            let number = cells[1]
                .parse()
                .unwrap_or_else(|_| panic!("a number: {row}"));
            (number, cells[2].to_owned())
        })
        .collect()
}

#[test]
fn the_codes_table_matches_the_enum() {
    let in_code: Vec<(u32, String)> = ErrorCode::ALL
        .iter()
        .map(|c| (c.as_u32(), c.name().to_owned()))
        .collect();
    assert_eq!(documented(), in_code);
}
