//! Full imports and exports of File connectors, run by a real worker process on a real
//! PostgreSQL through the task queue, as the web's execute route and the scheduler queue them.

mod support;

use serde_json::json;
use support::{Stack, write};

/// Every awkward case at once: a byte order mark, CRLF line ends, quotes, a delimiter and a
/// line break inside values, a multi-valued attribute, references (one dangling), a repeated
/// key and a row with too few fields. Line 3's record spans lines 3 and 4.
const FIRST_FILE: &str = "\u{feff}id,displayName,mail,groups,manager,notes\r\n\
1,\"Lovelace, Ada\",ada@example.test,admins|staff,,\"She said \"\"hello\"\"\"\r\n\
2,Grace Hopper,grace@example.test,staff,1,\"line one\nline two\"\r\n\
3,Alan Turing,alan@example.test,,9,plain\r\n\
2,Grace Again,again@example.test,staff,1,repeated\r\n\
4,Too,few\r\n\
5,Edsger Dijkstra,edsger@example.test,staff|research,2,\r\n";

/// The next day's file: 1 as before, 2 changed, 3 gone, 5 broken (so it must stay as it
/// was), 6 new and pointing at the gone 3.
const SECOND_FILE: &str = "id,displayName,mail,groups,manager,notes\n\
1,\"Lovelace, Ada\",ada@example.test,admins|staff,,\"She said \"\"hello\"\"\"\n\
2,Grace Hopper,grace@example.test,staff|navy,1,\"line one\nline two\"\n\
5,Edsger Dijkstra\n\
6,Barbara Liskov,barbara@example.test,research,3,\n";

#[tokio::test(flavor = "multi_thread")]
async fn full_imports_parse_every_awkward_row_report_problems_and_count_changes() {
    let stack = Stack::new().await;
    write(&stack.file("hr/people.csv"), FIRST_FILE);
    let system = stack
        .connected_system("HR", "hr/people.csv", "id", &["groups"], &["manager"])
        .await;
    let import = stack.run_profile(system, "FullImport", None).await;
    let worker = stack.start_worker(&[]);

    // First import: four objects land; the repeated key and the short row are errors, the
    // reference to the missing 9 a warning.
    let first = stack.run(import, &worker).await;
    assert_eq!(first.status, "CompleteWithError", "{first:?}");
    assert_eq!(first.counts(), (4, 0, 0, 0), "{first:?}");
    assert_eq!(first.objects_processed, 6);
    assert_eq!(first.errors, 2);
    let items = stack.items(first.id).await;
    let summary: Vec<(&str, &str, Option<i64>, Option<&str>)> = items
        .iter()
        .map(|item| {
            (
                item.severity.as_str(),
                item.kind.as_str(),
                item.line_number,
                item.external_id.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("Error", "MalformedRow", Some(7), Some("4")),
            ("Error", "DuplicateKey", Some(6), Some("2")),
            ("Warning", "DanglingReference", Some(5), Some("3")),
        ],
        "{items:#?}"
    );
    assert!(items[1].message.contains("already on line 3"), "{items:#?}");
    assert!(items[2].message.contains("`9`"), "{items:#?}");

    let objects = stack.objects(system).await;
    assert_eq!(
        objects,
        [
            (
                "1".to_string(),
                json!({"id": "1", "displayName": "Lovelace, Ada", "mail": "ada@example.test",
                       "groups": ["admins", "staff"], "notes": "She said \"hello\""})
            ),
            (
                "2".to_string(),
                json!({"id": "2", "displayName": "Grace Hopper", "mail": "grace@example.test",
                       "groups": ["staff"], "manager": "1", "notes": "line one\nline two"})
            ),
            (
                "3".to_string(),
                json!({"id": "3", "displayName": "Alan Turing", "mail": "alan@example.test",
                       "manager": "9", "notes": "plain"})
            ),
            (
                "5".to_string(),
                json!({"id": "5", "displayName": "Edsger Dijkstra",
                       "mail": "edsger@example.test", "groups": ["staff", "research"],
                       "manager": "2"})
            ),
        ]
    );
    let reference = |source: &str, target: &str, resolved: Option<&str>| {
        (
            source.to_string(),
            "manager".to_string(),
            target.to_string(),
            resolved.map(str::to_string),
        )
    };
    assert_eq!(
        stack.references(system).await,
        [
            reference("2", "1", Some("1")),
            reference("3", "9", None),
            reference("5", "2", Some("2")),
        ]
    );

    // The schema follows the header, with the byte order mark gone.
    let schema: Vec<(String, i32, String, bool, bool)> = sqlx::query_as(
        "SELECT name, position, data_type, is_multi_valued, is_key \
         FROM connected_system_attributes WHERE connected_system_id = $1 ORDER BY position",
    )
    .bind(system)
    .fetch_all(&stack.pool)
    .await
    .unwrap();
    assert_eq!(
        schema[0],
        ("id".to_string(), 1, "Text".to_string(), false, true)
    );
    assert!(schema[3].3, "groups is multi-valued: {schema:?}");
    assert_eq!(schema[4].2, "Reference", "{schema:?}");

    // Second import: one of each change; the broken row keeps its object as it was.
    write(&stack.file("hr/people.csv"), SECOND_FILE);
    let second = stack.run(import, &worker).await;
    assert_eq!(second.status, "CompleteWithError", "{second:?}");
    assert_eq!(second.counts(), (1, 1, 1, 1), "{second:?}");
    let objects = stack.objects(system).await;
    let keys: Vec<&str> = objects.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(keys, ["1", "2", "5", "6"]);
    assert_eq!(objects[1].1["groups"], json!(["staff", "navy"]));
    assert_eq!(objects[2].1["displayName"], "Edsger Dijkstra");
    assert_eq!(objects[2].1["mail"], "edsger@example.test");
    assert_eq!(
        stack.references(system).await,
        [
            reference("2", "1", Some("1")),
            reference("5", "2", Some("2")),
            reference("6", "3", None),
        ]
    );
    let kinds: Vec<String> = stack
        .items(second.id)
        .await
        .into_iter()
        .map(|item| item.kind)
        .collect();
    assert_eq!(kinds, ["MalformedRow", "DanglingReference"]);

    // A file path that leaves the connector files folder fails the run and says why.
    let escape = stack
        .run_profile(system, "FullImport", Some("../outside.csv"))
        .await;
    let refused = stack.run(escape, &worker).await;
    assert_eq!(refused.status, "FailedWithError");
    let message = refused.message.unwrap_or_default();
    assert!(
        message.contains("`../outside.csv` leads outside the connector files folder"),
        "{message}"
    );
    assert_eq!(stack.objects(system).await.len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_imported_again_gives_the_same_connector_space() {
    let stack = Stack::new().await;
    jim_testkit::csv_people::write_people_file(&stack.file("people.csv"), 500, 3, b',').unwrap();
    let multi_valued = jim_testkit::csv_people::PEOPLE_MULTI_VALUED;
    let references = jim_testkit::csv_people::PEOPLE_REFERENCES;
    let source = stack
        .connected_system("Source", "people.csv", "id", &multi_valued, &references)
        .await;
    let copy = stack
        .connected_system("Copy", "out/export.csv", "id", &multi_valued, &references)
        .await;
    let worker = stack.start_worker(&[]);

    let imported = stack
        .run(stack.run_profile(source, "FullImport", None).await, &worker)
        .await;
    assert_eq!(imported.status, "Complete", "{imported:?}");
    assert_eq!(imported.added, 500);

    let export = stack
        .run_profile(source, "Export", Some("out/export.csv"))
        .await;
    let exported = stack.run(export, &worker).await;
    assert_eq!(exported.status, "Complete", "{exported:?}");
    assert_eq!(exported.objects_processed, 500);

    // The header is the schema in file order, and no temporary file is left behind.
    let text = std::fs::read_to_string(stack.file("out/export.csv")).unwrap();
    let header = text.lines().next().unwrap();
    assert_eq!(header, jim_testkit::csv_people::PEOPLE_HEADER.join(","));
    let leftovers: Vec<_> = std::fs::read_dir(stack.file("out"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["export.csv"]);

    let reimported = stack
        .run(stack.run_profile(copy, "FullImport", None).await, &worker)
        .await;
    assert_eq!(reimported.status, "Complete", "{reimported:?}");
    assert_eq!(stack.objects(copy).await, stack.objects(source).await);
    assert_eq!(stack.references(copy).await, stack.references(source).await);

    // Exporting again over the file replaces it whole.
    let again = stack.run(export, &worker).await;
    assert_eq!(again.status, "Complete");
    assert_eq!(
        std::fs::read_to_string(stack.file("out/export.csv")).unwrap(),
        text
    );
}
