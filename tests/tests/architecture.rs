//! The backend's module imports, read from its source: no import circles
//! inside `store`, and `store` imports no other stage. Each file is one
//! module (`store/sqlite/writer.rs` is `store::sqlite::writer`); a file
//! depends on the modules its `use crate::…`/`use super::…` declarations
//! and its inline `crate::…`/`super::…`/`self::…` paths (test modules
//! included) name, resolved to the file that defines them. Comments and
//! string literals are skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use sightline_tests::workspace_root;

/// A module path (`["store", "sqlite", "writer"]`); the crate root is empty.
type Module = Vec<String>;

/// Where a dependency was seen: file and line.
type Evidence = (String, usize);

/// Module → the modules it depends on, each with its first occurrence.
type Graph = BTreeMap<Module, BTreeMap<Module, Evidence>>;

/// Stages `store` must not import.
const OTHER_STAGES: &[&str] = &["ingest", "api", "server", "security", "ui"];

#[test]
fn store_has_no_import_circles() {
    let graph = backend_graph();
    let store = restrict(&graph, |m| m.first().is_some_and(|s| s == "store"));
    let cycles = cycles(&store);
    assert!(
        cycles.is_empty(),
        "import circles inside `store` (one per group of modules that reach each other):\n{}",
        cycles
            .iter()
            .map(|c| describe_cycle(&store, c))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn store_imports_no_other_stage() {
    let bad = other_stage_imports(&backend_graph());
    assert!(
        bad.is_empty(),
        "`store` imports other stages ({OTHER_STAGES:?}):\n{}",
        bad.join("\n")
    );
}

/// Every dependency of a module under `store` on another stage.
fn other_stage_imports(graph: &Graph) -> Vec<String> {
    let mut bad = Vec::new();
    for (from, deps) in graph {
        if from.first().is_none_or(|s| s != "store") {
            continue;
        }
        for (to, (file, line)) in deps {
            if to
                .first()
                .is_some_and(|s| OTHER_STAGES.contains(&s.as_str()))
            {
                bad.push(format!("  {} -> {} ({file}:{line})", name(from), name(to)));
            }
        }
    }
    bad
}

/// The checks can fail: a circle through a test module's `super::super`
/// path and an inline `crate::` path is found, and so is an import of
/// `ingest`, while names in comments, strings and `mod` declarations are
/// not dependencies.
#[test]
fn the_checks_see_circles_and_ignore_comments_and_strings() {
    let files = vec![
        (
            "lib.rs".to_owned(),
            "pub mod ingest;\npub mod store;".to_owned(),
        ),
        ("ingest/mod.rs".to_owned(), "pub mod decode;".to_owned()),
        ("ingest/decode.rs".to_owned(), String::new()),
        (
            "store/mod.rs".to_owned(),
            "pub mod a;\npub mod b;\npub mod c;\npub struct E;".to_owned(),
        ),
        (
            "store/a.rs".to_owned(),
            "use super::E;\nfn f() { let _ = crate::store::b::g(); }".to_owned(),
        ),
        (
            "store/b.rs".to_owned(),
            "//! see crate::store::c\npub fn g() { let _ = \"crate::store::c::x\"; }\n\
             /* super::c::y */ fn h(_: &'static str) -> char { 'x' }\n\
             fn k<'a>(x: &'a u8) -> impl Sized + use<'a> { x }\n\
             #[cfg(test)]\nmod tests {\n    use super::super::c::{self, Z};\n}"
                .to_owned(),
        ),
        (
            "store/c.rs".to_owned(),
            "use crate::store::{a::{self as x}, E};\nuse crate::ingest::decode;".to_owned(),
        ),
    ];
    let graph = graph_of(&files);
    let m = |s: &str| s.split("::").map(str::to_owned).collect::<Module>();
    let deps = |s: &str| graph[&m(s)].keys().map(name).collect::<Vec<_>>();
    assert_eq!(deps("store::a"), ["store", "store::b"]);
    assert_eq!(deps("store::b"), ["store::c"]);
    assert_eq!(deps("store::c"), ["ingest::decode", "store", "store::a"]);
    assert!(deps("store").is_empty());
    assert_eq!(
        other_stage_imports(&graph),
        ["  store::c -> ingest::decode (store/c.rs:2)"]
    );
    let cycles = cycles(&restrict(&graph, |m| {
        m.first().is_some_and(|s| s == "store")
    }));
    assert_eq!(cycles.len(), 1);
    assert_eq!(
        describe_cycle(&graph, &cycles[0]).lines().next(),
        Some("  store::a -> store::b -> store::c -> store::a")
    );
}

/// The dependency graph of every module of `backend/src` (the library).
fn backend_graph() -> Graph {
    let root = workspace_root().join("backend/src");
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    assert!(
        files.len() > 20,
        "expected the backend's sources under {}",
        root.display()
    );
    graph_of(&files)
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).unwrap().to_string_lossy();
            let rel = rel.replace('\\', "/");
            // The binary is its own crate; it reaches the library by name.
            if rel != "main.rs" {
                out.push((rel, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
}

/// The module a file defines: `lib.rs` is the root, `a/mod.rs` is `a`,
/// `a/b.rs` is `a::b`.
fn module_of(rel: &str) -> Module {
    let mut parts: Vec<String> = rel.split('/').map(str::to_owned).collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_owned());
    }
    parts
}

fn graph_of(files: &[(String, String)]) -> Graph {
    let modules: BTreeSet<Module> = files.iter().map(|(f, _)| module_of(f)).collect();
    let mut graph = Graph::new();
    for (file, text) in files {
        let module = module_of(file);
        let deps = graph.entry(module.clone()).or_default();
        for (path, line) in paths(&module, &tokens(text)) {
            let Some(target) = resolve(&modules, &path) else {
                continue;
            };
            if target != module {
                deps.entry(target).or_insert_with(|| (file.clone(), line));
            }
        }
    }
    graph
}

/// The longest prefix of an absolute path that is a module of a file.
fn resolve(modules: &BTreeSet<Module>, path: &[String]) -> Option<Module> {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| modules.contains(p))
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    PathSep,
    Punct(char),
}

/// The tokens that matter for paths, with their lines; comments, strings,
/// character literals and lifetimes are dropped.
fn tokens(text: &str) -> Vec<(Tok, usize)> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    // Skips a string body starting after its opening quote.
    let skip_string = |mut i: usize, line: &mut usize| {
        while i < c.len() && c[i] != '"' {
            if c[i] == '\\' {
                i += 1;
            }
            if at(i) == '\n' {
                *line += 1;
            }
            i += 1;
        }
        i + 1
    };
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if c[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if ch == '"' {
            i = skip_string(i + 1, &mut line);
        } else if ch == '\'' {
            if at(i + 1) == '\\' {
                // An escaped character literal.
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                // A lifetime or label: skip its name.
                i += 1;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
            }
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            let raw_prefix = word == "r" || word == "br" || word == "cr";
            if raw_prefix
                && (at(i) == '"' || (at(i) == '#' && (at(i + 1) == '#' || at(i + 1) == '"')))
            {
                // A raw string: r"…", r#"…"#, …
                let mut hashes = 0;
                while at(i) == '#' {
                    hashes += 1;
                    i += 1;
                }
                i += 1;
                loop {
                    if i >= c.len() {
                        break;
                    }
                    if c[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#') {
                        i += 1 + hashes;
                        break;
                    }
                    if c[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            } else if (word == "b" || word == "c") && at(i) == '"' {
                i = skip_string(i + 1, &mut line);
            } else if word == "b" && at(i) == '\'' {
                // A byte literal: b'x' or b'\n'.
                i += 1;
                if at(i + 1) == '\\' {
                    i += 2;
                }
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if word == "r" && at(i) == '#' {
                // A raw identifier.
                i += 1;
                let start = i;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
                out.push((Tok::Ident(c[start..i].iter().collect()), line));
            } else {
                out.push((Tok::Ident(word), line));
            }
        } else if ch.is_ascii_digit() {
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
        } else if ch == ':' && at(i + 1) == ':' {
            out.push((Tok::PathSep, line));
            i += 2;
        } else if ch.is_whitespace() {
            i += 1;
        } else {
            out.push((Tok::Punct(ch), line));
            i += 1;
        }
    }
    out
}

/// Every path of a file that names a module, made absolute: `use` trees
/// expanded, and paths in code that start with `crate`, `super`, `self`
/// or a child module's name. Inline modules (`mod tests { … }`) shift what
/// `super` and `self` mean.
fn paths(file_module: &Module, toks: &[(Tok, usize)]) -> Vec<(Vec<String>, usize)> {
    let ident = |i: usize| match toks.get(i) {
        Some((Tok::Ident(s), _)) => Some(s.as_str()),
        _ => None,
    };
    let is = |i: usize, t: Tok| toks.get(i).is_some_and(|(x, _)| *x == t);
    let mut out = Vec::new();
    // Inline modules: (name, brace depth outside it).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let here: Module = file_module
            .iter()
            .cloned()
            .chain(inline.iter().map(|(n, _)| n.clone()))
            .collect();
        let line = toks[i].1;
        match &toks[i].0 {
            // A `use` declaration (not `impl Trait + use<'a>`).
            Tok::Ident(w)
                if w == "use"
                    && (ident(i + 1).is_some()
                        || is(i + 1, Tok::PathSep)
                        || is(i + 1, Tok::Punct('{'))) =>
            {
                let mut trees = Vec::new();
                i += 1;
                if is(i, Tok::PathSep) {
                    i += 1;
                }
                use_tree(toks, &mut i, Vec::new(), &mut trees);
                for t in trees {
                    if let Some(p) = absolute(&here, &t) {
                        out.push((p, line));
                    }
                }
                while i < toks.len() && !is(i, Tok::Punct(';')) {
                    i += 1;
                }
            }
            Tok::Ident(w) if w == "mod" && ident(i + 1).is_some() && is(i + 2, Tok::Punct('{')) => {
                inline.push((ident(i + 1).unwrap().to_owned(), depth));
                depth += 1;
                i += 3;
            }
            Tok::Punct('{') => {
                depth += 1;
                i += 1;
            }
            Tok::Punct('}') => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                i += 1;
            }
            Tok::Ident(_) if is(i + 1, Tok::PathSep) && (i == 0 || !is(i - 1, Tok::PathSep)) => {
                let mut segs = Vec::new();
                while let Some(s) = ident(i) {
                    segs.push(s.to_owned());
                    if is(i + 1, Tok::PathSep) && ident(i + 2).is_some() {
                        i += 2;
                    } else {
                        i += 1;
                        break;
                    }
                }
                if let Some(p) = absolute(&here, &segs) {
                    out.push((p, line));
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// Expands one `use` tree (`a::{b, c::{self, d as e}, f::*}`) into paths.
fn use_tree(toks: &[(Tok, usize)], i: &mut usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let mut path = prefix;
    loop {
        match toks.get(*i).map(|t| &t.0) {
            Some(Tok::Ident(s)) => {
                path.push(s.clone());
                *i += 1;
            }
            Some(Tok::Punct('{')) => {
                *i += 1;
                loop {
                    match toks.get(*i).map(|t| &t.0) {
                        None => return,
                        Some(Tok::Punct('}')) => {
                            *i += 1;
                            return;
                        }
                        Some(Tok::Punct(',')) => *i += 1,
                        Some(_) => {
                            let before = *i;
                            use_tree(toks, i, path.clone(), out);
                            if *i == before {
                                *i += 1;
                            }
                        }
                    }
                }
            }
            Some(Tok::Punct('*')) => {
                *i += 1;
                break;
            }
            _ => break,
        }
        if matches!(toks.get(*i).map(|t| &t.0), Some(Tok::PathSep)) {
            *i += 1;
            continue;
        }
        if matches!(toks.get(*i).map(|t| &t.0), Some(Tok::Ident(s)) if s == "as") {
            *i += 2;
        }
        break;
    }
    out.push(path);
}

/// A path made absolute from the module it appears in. A path that does
/// not start with `crate`, `self` or `super` is taken as relative: it names
/// a module only when its first name is a child module of `here` (else
/// resolution finds `here`'s own file and the path is left out).
fn absolute(here: &Module, segs: &[String]) -> Option<Vec<String>> {
    let first = segs.first()?;
    let (mut base, rest) = match first.as_str() {
        "crate" => (Vec::new(), &segs[1..]),
        "self" => (here.clone(), &segs[1..]),
        "super" => {
            let n = segs.iter().take_while(|s| *s == "super").count();
            let mut base = here.clone();
            base.truncate(here.len().saturating_sub(n));
            (base, &segs[n..])
        }
        _ => (here.clone(), segs),
    };
    base.extend(rest.iter().filter(|s| *s != "self").cloned());
    Some(base)
}

/// The graph with only the modules `keep` accepts.
fn restrict(graph: &Graph, keep: impl Fn(&Module) -> bool) -> Graph {
    graph
        .iter()
        .filter(|(m, _)| keep(m))
        .map(|(m, deps)| {
            (
                m.clone(),
                deps.iter()
                    .filter(|(d, _)| keep(d))
                    .map(|(d, e)| (d.clone(), e.clone()))
                    .collect(),
            )
        })
        .collect()
}

/// A circle of imports, and every module of the group that reach each
/// other through imports.
struct Cycle {
    path: Vec<Module>,
    group: Vec<Module>,
}

/// One cycle per strongly connected component of more than one module.
fn cycles(graph: &Graph) -> Vec<Cycle> {
    let nodes: Vec<&Module> = graph.keys().collect();
    let index: BTreeMap<&Module, usize> = nodes.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    let succ: Vec<Vec<usize>> = nodes
        .iter()
        .map(|m| {
            graph[*m]
                .keys()
                .filter_map(|d| index.get(d).copied())
                .collect()
        })
        .collect();
    // Tarjan's algorithm, iteratively.
    let n = nodes.len();
    let mut idx = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut next = 0;
    let mut sccs: Vec<Vec<usize>> = Vec::new();
    for start in 0..n {
        if idx[start] != usize::MAX {
            continue;
        }
        let mut work = vec![(start, 0usize)];
        while let Some(&mut (v, ref mut k)) = work.last_mut() {
            if *k == 0 && idx[v] == usize::MAX {
                idx[v] = next;
                low[v] = next;
                next += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = succ[v].get(*k) {
                *k += 1;
                if idx[w] == usize::MAX {
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(idx[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(u, _)) = work.last() {
                low[u] = low[u].min(low[v]);
            }
            if low[v] == idx[v] {
                let mut scc = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    scc.push(w);
                    if w == v {
                        break;
                    }
                }
                if scc.len() > 1 {
                    sccs.push(scc);
                }
            }
        }
    }
    // In each component, the shortest cycle through its first module.
    sccs.into_iter()
        .map(|scc| {
            let members: BTreeSet<usize> = scc.iter().copied().collect();
            let start = *members.iter().next().unwrap();
            let mut prev: BTreeMap<usize, usize> = BTreeMap::new();
            let mut queue = std::collections::VecDeque::from([start]);
            let mut end = start;
            'bfs: while let Some(v) = queue.pop_front() {
                for &w in &succ[v] {
                    if !members.contains(&w) {
                        continue;
                    }
                    if w == start {
                        end = v;
                        break 'bfs;
                    }
                    if let std::collections::btree_map::Entry::Vacant(e) = prev.entry(w) {
                        e.insert(v);
                        queue.push_back(w);
                    }
                }
            }
            let mut cycle = vec![end];
            while *cycle.last().unwrap() != start {
                cycle.push(prev[cycle.last().unwrap()]);
            }
            cycle.reverse();
            let mut names: Vec<Module> = cycle.iter().map(|&v| nodes[v].clone()).collect();
            names.push(nodes[start].clone());
            let group = members.iter().map(|&v| nodes[v].clone()).collect();
            Cycle { path: names, group }
        })
        .collect()
}

/// `a -> b -> a`, then where each step is imported, then the whole group.
fn describe_cycle(graph: &Graph, cycle: &Cycle) -> String {
    let mut s = format!(
        "  {}",
        cycle.path.iter().map(name).collect::<Vec<_>>().join(" -> ")
    );
    for pair in cycle.path.windows(2) {
        let (file, line) = &graph[&pair[0]][&pair[1]];
        s.push_str(&format!(
            "\n      {} -> {}: {file}:{line}",
            name(&pair[0]),
            name(&pair[1])
        ));
    }
    if cycle.group.len() + 1 > cycle.path.len() {
        s.push_str(&format!(
            "\n    the whole group: {}",
            cycle.group.iter().map(name).collect::<Vec<_>>().join(", ")
        ));
    }
    s
}

fn name(m: &Module) -> String {
    if m.is_empty() {
        "crate".to_owned()
    } else {
        m.join("::")
    }
}
