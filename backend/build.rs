//! Embeds the built dashboard (`dist/`, written by trunk) and the SQL
//! migrations into the binary, so copying the binary alone to another box
//! serves the UI and creates the schema.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    let manifest =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest
        .parent()
        .expect("backend/ sits in the workspace")
        .to_path_buf();
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));

    println!("cargo:rerun-if-env-changed=SIGHTLINE_DIST_DIR");
    let dist = env::var_os("SIGHTLINE_DIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("dist"));
    // Watching the workspace root would rebuild on every edit; watch dist
    // itself when it exists, and the root's entry list when it does not.
    if dist.exists() {
        println!("cargo:rerun-if-changed={}", dist.display());
    } else {
        println!("cargo:rerun-if-changed={}", root.display());
    }
    embed_assets(&dist, &out);

    let migrations = root.join("migrations");
    println!("cargo:rerun-if-changed={}", migrations.display());
    embed_migrations(&migrations, &out);
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, files);
        } else {
            files.push(path);
        }
    }
}

fn embed_assets(dist: &Path, out: &Path) {
    let mut files = Vec::new();
    walk(dist, &mut files);
    files.sort();
    let built = files
        .iter()
        .any(|f| f.file_name().is_some_and(|n| n == "index.html"));
    let mut code = String::new();
    writeln!(
        code,
        "/// True when the dashboard was built before this binary."
    )
    .unwrap();
    writeln!(code, "pub const SPA_BUILT: bool = {built};").unwrap();
    let hashes = match files.iter().find(|f| {
        f.strip_prefix(dist)
            .is_ok_and(|r| r == Path::new("index.html"))
    }) {
        Some(index) => inline_script_hashes(&fs::read_to_string(index).expect("read index.html")),
        None => Vec::new(),
    };
    writeln!(
        code,
        "/// CSP sources (`sha256-…`) of the inline scripts of `index.html`."
    )
    .unwrap();
    writeln!(
        code,
        "pub static INLINE_SCRIPT_HASHES: &[&str] = &{hashes:?};"
    )
    .unwrap();
    writeln!(code, "/// Every file of the built dashboard.").unwrap();
    writeln!(code, "pub static ASSETS: &[Asset] = &[").unwrap();
    if built {
        let gz_dir = out.join("assets-gz");
        fs::create_dir_all(&gz_dir).expect("create gzip dir");
        for (i, file) in files.iter().enumerate() {
            let rel = file.strip_prefix(dist).expect("file under dist");
            let url = format!("/{}", rel.to_string_lossy().replace('\\', "/"));
            let raw = fs::read(file).expect("read dist file");
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            enc.write_all(&raw).expect("gzip");
            let gz = enc.finish().expect("gzip");
            let gz_path = gz_dir.join(format!("{i}.gz"));
            fs::write(&gz_path, &gz).expect("write gzip");
            // Only keep the gzip form when it actually saves bytes.
            let gz_expr = if gz.len() < raw.len() {
                format!("Some(include_bytes!({:?}))", gz_path.display().to_string())
            } else {
                "None".to_owned()
            };
            writeln!(
                code,
                "    Asset {{ path: {url:?}, content_type: {:?}, body: include_bytes!({:?}), gzip: {gz_expr} }},",
                content_type(file),
                file.display().to_string()
            )
            .unwrap();
        }
    }
    writeln!(code, "];").unwrap();
    fs::write(out.join("assets.rs"), code).expect("write assets.rs");
}

/// The CSP hash (`sha256-<base64>`) of every inline `<script>` of an HTML
/// page (trunk writes one that loads the WebAssembly), so the policy can
/// admit exactly those scripts. The text is hashed as the browser sees it:
/// everything between the tag and `</script>`, line breaks normalised.
fn inline_script_hashes(html: &str) -> Vec<String> {
    use base64::Engine as _;
    use sha2::Digest as _;
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(start) = lower[from..].find("<script").map(|i| i + from) {
        let Some(tag_end) = lower[start..].find('>').map(|i| i + start) else {
            break;
        };
        let Some(close) = lower[tag_end..].find("</script").map(|i| i + tag_end) else {
            break;
        };
        let tag = &lower[start..tag_end];
        let text = &html[tag_end + 1..close];
        if !tag.contains(" src=") && !text.trim().is_empty() {
            let text = text.replace("\r\n", "\n").replace('\r', "\n");
            let digest = sha2::Sha256::digest(text.as_bytes());
            out.push(format!(
                "sha256-{}",
                base64::engine::general_purpose::STANDARD.encode(digest)
            ));
        }
        from = close;
    }
    out
}

fn embed_migrations(dir: &Path, out: &Path) {
    let mut files = Vec::new();
    walk(dir, &mut files);
    files.retain(|f| f.extension().is_some_and(|e| e == "sql"));
    files.sort();
    let mut code = String::from(
        "/// Every migration, in order: (version, name, SQL).\npub static MIGRATIONS: &[(u32, &str, &str)] = &[\n",
    );
    for file in files {
        let name = file
            .file_stem()
            .expect("file name")
            .to_string_lossy()
            .to_string();
        let version: u32 = name
            .split('_')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| {
                panic!("migration {name} must start with a number, e.g. 0001_init.sql")
            });
        writeln!(
            code,
            "    ({version}, {name:?}, include_str!({:?})),",
            file.display().to_string()
        )
        .unwrap();
    }
    code.push_str("];\n");
    fs::write(out.join("migrations.rs"), code).expect("write migrations.rs");
}
