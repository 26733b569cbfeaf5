//! The PowerShell module against the API it calls. PowerShell cannot be installed on the build
//! machines, so the module is not run here; what can be checked without it is: the manifest
//! exports exactly what the module exports, every exported function is defined, and every API
//! path the module names is a route that jim-web documents and serves.

use std::collections::BTreeSet;
use std::path::PathBuf;

fn module_folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../powershell/JIM")
}

/// The quoted names in the `@( ... )` list that follows `marker`.
fn name_list(text: &str, marker: &str) -> BTreeSet<String> {
    let start = text
        .find(marker)
        .unwrap_or_else(|| panic!("no `{marker}` list"));
    let list = &text[start..];
    let end = list.find(')').expect("the list ends");
    list[..end]
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            line.strip_prefix('\'')
                .and_then(|rest| rest.strip_suffix('\''))
                .map(String::from)
        })
        .collect()
}

/// A path with every parameter (`{id}`, `$Id`) written as `{}`.
fn normalised(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') || segment.starts_with('$') {
                "{}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn the_manifest_and_the_module_export_the_same_defined_functions() {
    let module = std::fs::read_to_string(module_folder().join("JIM.psm1")).unwrap();
    let manifest = std::fs::read_to_string(module_folder().join("JIM.psd1")).unwrap();
    let exported = name_list(&module, "Export-ModuleMember -Function @(");
    let listed = name_list(&manifest, "FunctionsToExport    = @(");
    assert_eq!(exported, listed);
    for name in [
        "Get-JIMConnectedSystem",
        "Start-JIMRunProfile",
        "Get-JIMActivity",
        "Get-JIMSchedule",
        "Start-JIMSchedule",
    ] {
        assert!(exported.contains(name), "{name} is not exported");
    }
    for name in &exported {
        assert!(
            module.contains(&format!("function {name} {{")),
            "{name} is exported but not defined"
        );
    }
}

#[test]
fn every_api_path_the_module_names_is_a_documented_route() {
    let module = std::fs::read_to_string(module_folder().join("JIM.psm1")).unwrap();
    let (_, document) = jim_web::app(jim_web::AppState::new(None), false);
    let routes: BTreeSet<String> = document
        .paths
        .paths
        .keys()
        .map(|path| normalised(path))
        .collect();

    let mut named = BTreeSet::new();
    for (start, _) in module.match_indices("/api/v1/") {
        let rest = &module[start..];
        let end = rest
            .find(|character: char| {
                character.is_whitespace() || matches!(character, '"' | '\'' | '?' | '`')
            })
            .unwrap_or(rest.len());
        let path = rest[..end].trim_end_matches(['.', ',', ')', ':', ';']);
        named.insert(normalised(path));
    }
    assert!(named.len() >= 10, "{named:?}");
    for path in &named {
        assert!(
            routes.contains(path),
            "the module names `{path}`, which jim-web does not serve"
        );
    }
}
