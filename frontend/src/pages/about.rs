//! About & settings: what this server is and holds (version, data
//! directory, database size against its cap, the oldest data kept, ingest
//! counters, evictions), a backup download, and the dashboard's own
//! settings (theme, auto-refresh). Everything comes from `/api/health` and
//! `/api/stats`, refreshed like the lists.

use shared::api::{HealthResponse, IngestCounter, SignalStats, StatsResponse};
use yew::prelude::*;

use crate::api::{self, ApiError};
use crate::browser::{date_time, now_ns};
use crate::components::status::{ErrorBox, Loading};
use crate::format;
use crate::hooks::use_poll::{ControlAction, RefreshContext, use_poll};
use crate::refresh::{INTERVALS, RefreshSetting};
use crate::shared_ref::Shared;
use crate::theme::{Theme, ThemeContext};

/// The database file inside the data directory (`backend/src/datadir.rs`).
pub const DB_FILE: &str = "sightline.db";

/// Where `GET /api/backup` answers with a consistent copy of the database.
pub const BACKUP_HREF: &str = "/api/backup";

/// The path of the database file in `data_dir`, as the server's OS writes it.
pub fn db_path(data_dir: &str) -> String {
    let sep = if data_dir.contains('\\') && !data_dir.contains('/') {
        '\\'
    } else {
        '/'
    };
    let dir = data_dir.trim_end_matches(['/', '\\']);
    if dir.is_empty() {
        format!("{sep}{DB_FILE}")
    } else {
        format!("{dir}{sep}{DB_FILE}")
    }
}

/// The database's share of its cap, 0–1 (0 when there is no cap).
pub fn fill_ratio(size: u64, cap: u64) -> f64 {
    if cap == 0 {
        0.0
    } else {
        (size as f64 / cap as f64).clamp(0.0, 1.0)
    }
}

/// Ingest counters summed per signal (all transports), in a fixed order.
pub fn per_signal(counters: &[IngestCounter]) -> Vec<(String, u64, u64)> {
    let mut out: Vec<(String, u64, u64)> = Vec::new();
    for c in counters {
        match out.iter_mut().find(|(s, _, _)| *s == c.signal) {
            Some(row) => {
                row.1 += c.accepted;
                row.2 += c.rejected;
            }
            None => out.push((c.signal.clone(), c.accepted, c.rejected)),
        }
    }
    let rank = |s: &str| match s {
        "traces" | "spans" => 0,
        "logs" => 1,
        "metrics" => 2,
        _ => 3,
    };
    out.sort_by(|a, b| rank(&a.0).cmp(&rank(&b.0)).then(a.0.cmp(&b.0)));
    out
}

type Loaded = Result<(Shared<HealthResponse>, Shared<StatsResponse>), ApiError>;

#[function_component(AboutPage)]
pub fn about_page() -> Html {
    let data = use_state(|| None::<Loaded>);
    let busy = use_state(|| false);
    let tick = use_poll(None, *busy);
    {
        let data = data.clone();
        let busy = busy.clone();
        use_effect_with(tick, move |_| {
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                let r = async {
                    let h = api::health().await?;
                    let s = api::stats().await?;
                    Ok((Shared::new(h), Shared::new(s)))
                }
                .await;
                data.set(Some(r));
                busy.set(false);
            });
        });
    }
    let server = match &*data {
        None => html! { <Loading /> },
        Some(Err(e)) => html! { <ErrorBox error={e.clone()} what="the server's status" /> },
        Some(Ok((h, s))) => server_facts(h, s),
    };
    html! {
        <section class="page narrow-page" id="page-about">
            <h1 class="page-title">{ "About & settings" }</h1>
            <Settings />
            { server }
        </section>
    }
}

/// True when the server stores in ClickHouse rather than its own file.
pub fn on_clickhouse(h: &HealthResponse) -> bool {
    h.storage_engine == "clickhouse"
}

fn server_facts(h: &HealthResponse, s: &StatsResponse) -> Html {
    if on_clickhouse(h) {
        return clickhouse_facts(h, s);
    }
    let ratio = fill_ratio(s.db_size_bytes, s.max_db_size_bytes);
    let path = db_path(&h.data_dir);
    html! {
        <>
        <section class="card" id="about-server">
            <h2 class="section-title">{ "Server" }</h2>
            <dl class="facts">
                <dt>{ "Version" }</dt><dd id="about-version" class="mono">{ h.version.clone() }</dd>
                <dt>{ "Status" }</dt><dd>{ h.status.clone() }</dd>
                <dt>{ "Up for" }</dt><dd>{ format::duration(h.uptime_seconds.saturating_mul(1_000_000_000)) }</dd>
                <dt>{ "Storage" }</dt><dd id="about-engine">{ "Embedded SQLite file" }</dd>
                <dt>{ "Data directory" }</dt><dd id="about-data-dir" class="mono">{ h.data_dir.clone() }</dd>
                <dt>{ "Database" }</dt>
                <dd>
                    <div id="about-db-size">
                        { format!("{} of {} ({})", format::bytes(s.db_size_bytes), format::bytes(s.max_db_size_bytes), format::percent(ratio)) }
                    </div>
                    <div class="meter" role="meter" aria-label="Database size against its cap"
                        aria-valuemin="0" aria-valuemax="1" aria-valuenow={format!("{ratio:.3}")}>
                        <span style={format!("width:{:.1}%", ratio * 100.0)}></span>
                    </div>
                </dd>
                <dt>{ "Queued for writing" }</dt><dd>{ format::count(s.queued_items) }</dd>
            </dl>
        </section>
        <section class="card" id="about-retention">
            <h2 class="section-title">{ "What is kept" }</h2>
            <p class="muted small">
                { "When the database nears its cap (--max-db-size), the oldest data goes first; --max-age-spans, --max-age-logs and --max-age-metrics also drop data older than they allow." }
            </p>
            { kept_table(s) }
            <p class="small" id="about-evicted">
                { format!("Evicted so far: {} blocks, {} spans and logs, {} metric points.",
                    format::count(s.evicted_blocks), format::count(s.evicted_items), format::count(s.evicted_points)) }
            </p>
        </section>
        { received(s) }
        <section class="card" id="about-backup">
            <h2 class="section-title">{ "Backup" }</h2>
            <p>
                <a class="btn" id="download-backup" href={BACKUP_HREF} download="">{ "Download backup" }</a>
                <span class="muted small">{ " a consistent copy of the database, taken while sightline runs" }</span>
            </p>
            <p class="small" id="restore-note">
                { "To restore: stop sightline, replace " }<code class="mono">{ path.clone() }</code>
                { " with the downloaded file (delete " }<code class="mono">{ format!("{path}-wal") }</code>{ " and " }
                <code class="mono">{ format!("{path}-shm") }</code>{ " if they are there), start it." }
            </p>
        </section>
        </>
    }
}

/// Per signal: how much is stored, its size and the oldest item kept.
fn kept_table(s: &StatsResponse) -> Html {
    let row = |label: &str, st: &SignalStats| {
        html! {
            <tr>
                <th>{ label.to_owned() }</th>
                <td class="num">{ format::count(st.items) }</td>
                <td class="num">{ format::bytes(st.stored_bytes) }</td>
                <td class="mono">{ st.oldest.map(|t| date_time(t.0)).unwrap_or_else(|| "—".into()) }</td>
                <td class="muted">{ st.oldest.map(|t| format::ago(t.0, now_ns())).unwrap_or_default() }</td>
            </tr>
        }
    };
    html! {
        <table class="plain" id="about-retention-table">
            <thead><tr><th></th><th class="num">{ "stored" }</th><th class="num">{ "size" }</th><th>{ "oldest" }</th><th></th></tr></thead>
            <tbody>
                { row("Spans", &s.spans) }
                { row("Logs", &s.logs) }
                { row("Metric points", &s.metric_points) }
            </tbody>
        </table>
    }
}

/// What this process received since it started.
fn received(s: &StatsResponse) -> Html {
    html! {
        <section class="card" id="about-ingest">
            <h2 class="section-title">{ "Received since start" }</h2>
            if s.ingest.is_empty() {
                <p class="muted">{ "Nothing yet. " }<crate::app::AppLink href="/start">{ "Send telemetry" }</crate::app::AppLink></p>
            } else {
                <table class="plain" id="about-ingest-table">
                    <thead><tr><th>{ "signal" }</th><th>{ "transport" }</th><th class="num">{ "accepted" }</th><th class="num">{ "rejected" }</th><th class="num">{ "requests" }</th><th class="num">{ "refused (400)" }</th><th class="num">{ "busy (503)" }</th></tr></thead>
                    <tbody>
                        { for s.ingest.iter().map(|c| html! {
                            <tr data-signal={c.signal.clone()} data-transport={c.transport.clone()}>
                                <td>{ c.signal.clone() }</td><td>{ c.transport.clone() }</td>
                                <td class="num accepted">{ format::count(c.accepted) }</td>
                                <td class={classes!("num", (c.rejected > 0).then_some("err"))}>{ format::count(c.rejected) }</td>
                                <td class="num">{ format::count(c.requests) }</td>
                                <td class="num">{ format::count(c.invalid_requests) }</td>
                                <td class="num">{ format::count(c.unavailable) }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
                <p class="small muted">
                    { for per_signal(&s.ingest).into_iter().map(|(sig, acc, rej)| html! {
                        <span class="sum">{ format!("{sig}: {} accepted, {} rejected. ", format::count(acc), format::count(rej)) }</span>
                    }) }
                    { format!("Now: {} spans/s, {} logs/s, {} points/s.",
                        format::si(s.ingest_rates.spans), format::si(s.ingest_rates.logs), format::si(s.ingest_rates.metric_points)) }
                </p>
            }
            if s.cardinality_rejections > 0 {
                <p class="err small">{ format!("{} metric points refused: too many series for their metric (--max-series-per-metric).", format::count(s.cardinality_rejections)) }</p>
            }
        </section>
    }
}

/// The server facts of a ClickHouse-backed process: where the data is,
/// how big ClickHouse says it is, and where retention and backups live.
fn clickhouse_facts(h: &HealthResponse, s: &StatsResponse) -> Html {
    html! {
        <>
        <section class="card" id="about-server">
            <h2 class="section-title">{ "Server" }</h2>
            <dl class="facts">
                <dt>{ "Version" }</dt><dd id="about-version" class="mono">{ h.version.clone() }</dd>
                <dt>{ "Status" }</dt><dd>{ h.status.clone() }</dd>
                <dt>{ "Up for" }</dt><dd>{ format::duration(h.uptime_seconds.saturating_mul(1_000_000_000)) }</dd>
                <dt>{ "Storage" }</dt><dd id="about-engine">{ "ClickHouse (the OpenTelemetry Collector's tables)" }</dd>
                <dt>{ "Stored in" }</dt><dd id="about-data-dir" class="mono">{ h.data_dir.clone() }</dd>
                <dt>{ "On disk" }</dt><dd id="about-db-size">{ format!("{} (ClickHouse's active parts)", format::bytes(s.db_size_bytes)) }</dd>
                <dt>{ "Queued for writing" }</dt><dd>{ format::count(s.queued_items) }</dd>
            </dl>
        </section>
        <section class="card" id="about-retention">
            <h2 class="section-title">{ "What is kept" }</h2>
            <p class="muted small">
                { "ClickHouse drops data by each table's TTL (--max-age-spans, --max-age-logs, --max-age-metrics when the tables were created); there is no size cap." }
            </p>
            { kept_table(s) }
        </section>
        { received(s) }
        <section class="card" id="about-backup">
            <h2 class="section-title">{ "Backup" }</h2>
            <p class="small" id="restore-note">
                { "The data lives in ClickHouse: back it up with ClickHouse's BACKUP statement or clickhouse-backup. Sightline keeps nothing of its own." }
            </p>
        </section>
        </>
    }
}

/// The dashboard's own settings (kept in this browser).
#[function_component(Settings)]
fn settings() -> Html {
    let theme = use_context::<ThemeContext>();
    let control = use_context::<RefreshContext>();
    let current = theme.as_ref().map(|t| **t).unwrap_or_default();
    let setting = control.as_ref().map(|c| c.setting).unwrap_or_default();
    let pick_theme = |t: Theme| {
        let theme = theme.clone();
        Callback::from(move |_: Event| {
            if let Some(theme) = &theme {
                t.save_and_apply();
                theme.set(t);
            }
        })
    };
    let set = |f: fn(RefreshSetting, &Event) -> RefreshSetting| {
        let control = control.clone();
        Callback::from(move |e: Event| {
            if let Some(c) = &control {
                c.dispatch(ControlAction::Set(f(c.setting, &e)));
            }
        })
    };
    let on_toggle = set(|s, e| RefreshSetting {
        on: e
            .target_unchecked_into::<web_sys::HtmlInputElement>()
            .checked(),
        ..s
    });
    let on_interval = set(|s, e| RefreshSetting {
        secs: e
            .target_unchecked_into::<web_sys::HtmlSelectElement>()
            .value()
            .parse()
            .unwrap_or(s.secs),
        ..s
    });
    html! {
        <section class="card" id="about-settings">
            <h2 class="section-title">{ "This browser" }</h2>
            <div class="setting">
                <span class="setting-name">{ "Theme" }</span>
                <label class="check"><input type="radio" name="theme" id="theme-dark" checked={current == Theme::Dark} onchange={pick_theme(Theme::Dark)} />{ "Dark" }</label>
                <label class="check"><input type="radio" name="theme" id="theme-light" checked={current == Theme::Light} onchange={pick_theme(Theme::Light)} />{ "Light" }</label>
            </div>
            <div class="setting">
                <span class="setting-name">{ "Auto-refresh" }</span>
                <label class="check"><input type="checkbox" id="settings-refresh-on" checked={setting.on} onchange={on_toggle} />{ "on, every" }</label>
                <select id="refresh-interval" onchange={on_interval} disabled={!setting.on}>
                    { for INTERVALS.iter().map(|&s| html! {
                        <option value={s.to_string()} selected={s == setting.secs}>{ format!("{s} s") }</option>
                    }) }
                </select>
                <span class="muted small">{ "Lists pause while you edit a filter, search text, or read a log; a trace never refreshes by itself." }</span>
            </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_file_is_inside_the_data_directory() {
        assert_eq!(db_path("./sightline-data"), "./sightline-data/sightline.db");
        assert_eq!(
            db_path("/var/lib/sightline/"),
            "/var/lib/sightline/sightline.db"
        );
        assert_eq!(
            db_path(r"C:\data\sightline"),
            r"C:\data\sightline\sightline.db"
        );
        assert_eq!(db_path("/"), "/sightline.db");
    }

    #[test]
    fn fill_ratio_is_clamped() {
        assert_eq!(fill_ratio(50, 200), 0.25);
        assert_eq!(fill_ratio(300, 200), 1.0);
        assert_eq!(fill_ratio(300, 0), 0.0);
    }

    #[test]
    fn counters_are_summed_per_signal() {
        let c = |signal: &str, transport: &str, accepted, rejected| IngestCounter {
            signal: signal.into(),
            transport: transport.into(),
            accepted,
            rejected,
            requests: 1,
            invalid_requests: 0,
            unavailable: 0,
        };
        let rows = per_signal(&[
            c("logs", "grpc", 5, 0),
            c("traces", "http", 10, 1),
            c("traces", "grpc", 2, 0),
            c("metrics", "http", 7, 3),
        ]);
        assert_eq!(
            rows,
            [
                ("traces".to_owned(), 12, 1),
                ("logs".to_owned(), 5, 0),
                ("metrics".to_owned(), 7, 3)
            ]
        );
    }
}
