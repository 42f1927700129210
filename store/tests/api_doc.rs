//! docs/API.md checked against the router: every route the store registers
//! (`routes::route_table`, which the router is built from) has a row in the
//! endpoint tables of API.md ("## Endpoints"), and every row there is a
//! route. A row is a table line whose first cell is `` `METHOD /path` ``
//! (a query after `?` is ignored; ids are written `{name}`, as in the
//! router).

use std::collections::BTreeSet;
use std::path::Path;

type Row = (String, String);

/// The method and path of every endpoint row of API.md's endpoint tables.
fn documented(api_md: &str) -> Vec<Row> {
    let (_, endpoints) = api_md
        .split_once("\n## Endpoints\n")
        .expect("docs/API.md has a `## Endpoints` section");
    // Up to the next section of the same level.
    let endpoints = endpoints.split("\n## ").next().unwrap_or(endpoints);
    let mut rows = Vec::new();
    for line in endpoints.lines() {
        let Some(cell) = line
            .strip_prefix("| `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(cell, _)| cell)
        else {
            continue;
        };
        let Some((method, path)) = cell.split_once(' ') else {
            continue;
        };
        if !method.bytes().all(|b| b.is_ascii_uppercase()) || !path.starts_with('/') {
            continue;
        }
        let path = path.split('?').next().unwrap_or(path);
        rows.push((method.to_string(), path.to_string()));
    }
    rows
}

fn registered() -> BTreeSet<Row> {
    sealcam_store::routes::route_table()
        .iter()
        .map(|e| (e.method().as_str().to_string(), e.pattern().to_string()))
        .collect()
}

fn show(rows: &BTreeSet<&Row>) -> String {
    rows.iter()
        .map(|(m, p)| format!("{m} {p}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn api_md_lists_exactly_the_routes_the_router_registers() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/API.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let rows = documented(&text);
    let doc: BTreeSet<Row> = rows.iter().cloned().collect();
    let routes = registered();
    assert_eq!(
        routes.len(),
        sealcam_store::routes::route_table().len(),
        "the route table lists a route twice"
    );

    let mut problems = Vec::new();
    let undocumented: BTreeSet<&Row> = routes.difference(&doc).collect();
    if !undocumented.is_empty() {
        problems.push(format!(
            "routes without a row in docs/API.md: {}",
            show(&undocumented)
        ));
    }
    let not_routes: BTreeSet<&Row> = doc.difference(&routes).collect();
    if !not_routes.is_empty() {
        problems.push(format!(
            "rows in docs/API.md that are not routes: {}",
            show(&not_routes)
        ));
    }
    let twice: BTreeSet<&Row> = doc
        .iter()
        .filter(|r| rows.iter().filter(|x| x == r).count() > 1)
        .collect();
    if !twice.is_empty() {
        problems.push(format!("rows in docs/API.md twice: {}", show(&twice)));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_row_reader_reads_rows_and_nothing_else() {
    let md = "\
# API
| `GET /not/an/endpoint/section` | x |
## Endpoints
| method and path | auth |
|---|---|
| `GET /v1/audit?after=<seq>` | admin |
| `PUT /v1/envelopes/{envelope_id}` | device |
| 400 | `bad_json` |
Text with `POST /v1/prose` in it.
## Process
| `GET /after` | x |
";
    assert_eq!(
        documented(md),
        [
            ("GET".to_string(), "/v1/audit".to_string()),
            ("PUT".to_string(), "/v1/envelopes/{envelope_id}".to_string()),
        ]
    );
}
