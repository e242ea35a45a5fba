//! Text for numbers, durations and times as the views show them. Pure
//! functions (the browser's time-zone offset is a parameter), tested natively.

/// A duration in nanoseconds with three significant digits and the largest
/// fitting unit: `850ns`, `12.3µs`, `1.25ms`, `2.50s`, `2m 05s`, `1h 02m`.
pub fn duration(ns: u64) -> String {
    const US: u64 = 1_000;
    const MS: u64 = 1_000_000;
    const S: u64 = 1_000_000_000;
    const M: u64 = 60 * S;
    const H: u64 = 60 * M;
    match ns {
        0..US => format!("{ns}ns"),
        US..MS => format!("{}µs", sig3(ns as f64 / US as f64)),
        MS..S => format!("{}ms", sig3(ns as f64 / MS as f64)),
        S..M => format!("{}s", sig3(ns as f64 / S as f64)),
        M..H => {
            let secs = ns / S;
            format!("{}m {:02}s", secs / 60, secs % 60)
        }
        _ => {
            let mins = ns / M;
            format!("{}h {:02}m", mins / 60, mins % 60)
        }
    }
}

/// `v` (≥ 1 and < 1000 in practice) with three significant digits.
fn sig3(v: f64) -> String {
    if v >= 99.95 {
        format!("{v:.0}")
    } else if v >= 9.995 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A count with a metric suffix: `950`, `1.2k`, `34k`, `5.6M`, `7.8G`.
pub fn count(n: u64) -> String {
    si(n as f64)
}

/// `n` and the noun agreeing with it: `1 trace`, `0 traces`, `25 traces`.
pub fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A real number with a metric suffix and up to three significant digits;
/// small values keep their decimals (`0.25`, `0.0012`).
pub fn si(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let a = v.abs();
    let (scaled, suffix) = if a >= 1e12 {
        (v / 1e12, "T")
    } else if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let a = scaled.abs();
    let text = if a == 0.0 {
        "0".to_owned()
    } else if a >= 100.0 || (suffix.is_empty() && scaled.fract() == 0.0) {
        format!("{scaled:.0}")
    } else if a >= 10.0 {
        format!("{scaled:.1}")
    } else if a >= 0.01 {
        format!("{scaled:.2}")
    } else {
        format!("{scaled:.2e}")
    };
    format!("{}{suffix}", trim_zeros(&text))
}

/// `"1.50"` → `"1.5"`, `"2.00"` → `"2"`; leaves integers and exponents alone.
fn trim_zeros(s: &str) -> String {
    if !s.contains('.') || s.contains('e') {
        return s.to_owned();
    }
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A rate in the unit that keeps it readable: `12/s`, `1.2k/s`, `3/min`,
/// `1/h`.
pub fn rate(per_second: f64) -> String {
    if per_second == 0.0 {
        "0/s".into()
    } else if per_second >= 0.5 {
        format!("{}/s", si(per_second))
    } else if per_second * 60.0 >= 0.5 {
        format!("{}/min", si(per_second * 60.0))
    } else {
        format!("{}/h", si(per_second * 3600.0))
    }
}

/// An attribute or log body value as text: strings as they are, lists and
/// maps in a compact form (`{code=402, reason="declined"}`, `[1, "x"]`).
pub fn value_text(v: &shared::AnyValue) -> String {
    use shared::AnyValue;
    fn nested(v: &AnyValue) -> String {
        match v {
            AnyValue::String(s) => format!("{s:?}"),
            other => value_text(other),
        }
    }
    match v {
        AnyValue::Array(items) => {
            let inner: Vec<String> = items.iter().map(nested).collect();
            format!("[{}]", inner.join(", "))
        }
        AnyValue::KvList(kvs) => {
            let inner: Vec<String> = kvs
                .iter()
                .map(|kv| format!("{}={}", kv.key, nested(&kv.value)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
        other => other.to_display_string(),
    }
}

/// A ratio 0..=1 as a percentage: `0%`, `0.5%`, `12.3%`, `100%`.
pub fn percent(ratio: f64) -> String {
    let p = ratio * 100.0;
    if p == 0.0 {
        "0%".into()
    } else if p < 0.1 {
        "<0.1%".into()
    } else if (99.95..100.0).contains(&p) {
        ">99.9%".into()
    } else {
        format!("{}%", trim_zeros(&format!("{p:.1}")))
    }
}

/// A byte size: `512 B`, `1.5 KB`, `12 MB` (powers of 1000, as disks are sold).
pub fn bytes(n: u64) -> String {
    let v = n as f64;
    for (scale, unit) in [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "KB")] {
        if v >= scale {
            return format!("{} {unit}", trim_zeros(&format!("{:.1}", v / scale)));
        }
    }
    format!("{n} B")
}

/// A civil date and time of day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub nanos: u32,
}

/// Days since 1970-01-01 → (year, month, day) (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The local civil time of Unix nanoseconds `ns`, `offset_minutes` east of UTC.
pub fn civil(ns: u64, offset_minutes: i32) -> Civil {
    let secs = (ns / 1_000_000_000) as i64 + i64::from(offset_minutes) * 60;
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    Civil {
        year,
        month,
        day,
        hour: (sod / 3600) as u32,
        minute: (sod / 60 % 60) as u32,
        second: (sod % 60) as u32,
        nanos: (ns % 1_000_000_000) as u32,
    }
}

/// `2026-11-22 03:04:05.678` in local time.
pub fn date_time(ns: u64, offset_minutes: i32) -> String {
    let c = civil(ns, offset_minutes);
    format!(
        "{}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}",
        c.year,
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        c.nanos / 1_000_000
    )
}

/// `03:04:05`, the local time of day (when data last arrived).
pub fn clock(ns: u64, offset_minutes: i32) -> String {
    let c = civil(ns, offset_minutes);
    format!("{:02}:{:02}:{:02}", c.hour, c.minute, c.second)
}

/// `2026-11-22T03:04:05Z` (whole seconds, UTC): readable times in URLs.
pub fn rfc3339(ns: u64) -> String {
    let c = civil(ns, 0);
    format!(
        "{}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// The value of an `<input type="datetime-local">`: `2026-11-22T03:04`.
pub fn datetime_local(ns: u64, offset_minutes: i32) -> String {
    let c = civil(ns, offset_minutes);
    format!(
        "{}-{:02}-{:02}T{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute
    )
}

/// Parses an `<input type="datetime-local">` value (`YYYY-MM-DDTHH:MM[:SS]`)
/// in local time back to Unix nanoseconds.
pub fn parse_datetime_local(v: &str, offset_minutes: i32) -> Option<u64> {
    let (date, time) = v.trim().split_once('T')?;
    let mut d = date.split('-');
    let year: i64 = d.next()?.parse().ok()?;
    let month: u32 = d.next()?.parse().ok()?;
    let day: u32 = d.next()?.parse().ok()?;
    let mut t = time.split(':');
    let hour: i64 = t.next()?.parse().ok()?;
    let minute: i64 = t.next()?.parse().ok()?;
    let second: f64 = t.next().map_or(Ok(0.0), str::parse).ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60
        - i64::from(offset_minutes) * 60;
    let ns = secs as f64 * 1e9 + second * 1e9;
    (ns >= 0.0).then_some(ns as u64)
}

/// Text for a time relative to now: `12s ago`, `5m ago`, `3h ago`, `2d ago`.
pub fn ago(ns: u64, now_ns: u64) -> String {
    let s = now_ns.saturating_sub(ns) / 1_000_000_000;
    match s {
        0..60 => format!("{s}s ago"),
        60..3600 => format!("{}m ago", s / 60),
        3600..86_400 => format!("{}h ago", s / 3600),
        _ => format!("{}d ago", s / 86_400),
    }
}

/// A metric value with its OTLP unit (UCUM): seconds and bytes get scaled
/// units, `{requests}`-style annotations are shown without braces, `1` is
/// dimensionless.
pub fn with_unit(v: f64, unit: &str) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    match unit {
        "s" if v.abs() < 1e9 => seconds(v),
        "ms" if v.abs() < 1e9 => seconds(v / 1e3),
        "us" | "µs" if v.abs() < 1e12 => seconds(v / 1e6),
        "ns" if (0.0..1.8e19).contains(&v) => duration(v as u64),
        "By" if (0.0..1.8e19).contains(&v) => bytes(v as u64),
        "%" => format!("{}%", si(v)),
        "" | "1" => si(v),
        "/s" => rate(v),
        u => format!(
            "{} {}",
            si(v),
            u.trim_start_matches('{').trim_end_matches('}')
        ),
    }
}

/// Seconds (possibly fractional or negative) as a duration text.
fn seconds(s: f64) -> String {
    if s < 0.0 {
        return format!("-{}", seconds(-s));
    }
    if s == 0.0 {
        return "0s".into();
    }
    duration((s * 1e9).round() as u64)
}

#[cfg(test)]
mod tests {

    #[test]
    fn counted_nouns_agree_with_their_number() {
        assert_eq!(counted(1, "trace", "traces"), "1 trace");
        assert_eq!(counted(0, "trace", "traces"), "0 traces");
        assert_eq!(counted(25, "span", "spans"), "25 spans");
    }

    use super::*;

    #[test]
    fn clock_is_the_local_time_of_day() {
        let t = 1_700_000_000_123_000_000; // 2023-11-14 22:13:20 UTC
        assert_eq!(clock(t, 0), "22:13:20");
        assert_eq!(clock(t, 120), "00:13:20");
        assert_eq!(clock(t, -60), "21:13:20");
    }

    #[test]
    fn durations_keep_three_digits() {
        assert_eq!(duration(0), "0ns");
        assert_eq!(duration(850), "850ns");
        assert_eq!(duration(12_345), "12.3µs");
        assert_eq!(duration(1_250_000), "1.25ms");
        assert_eq!(duration(123_400_000), "123ms");
        assert_eq!(duration(999_999_999), "1000ms");
        assert_eq!(duration(2_500_000_000), "2.50s");
        assert_eq!(duration(125_000_000_000), "2m 05s");
        assert_eq!(duration(3_720_000_000_000), "1h 02m");
    }

    #[test]
    fn numbers() {
        assert_eq!(count(950), "950");
        assert_eq!(count(9_999), "9999");
        assert_eq!(count(34_000), "34k");
        assert_eq!(count(5_600_000), "5.6M");
        assert_eq!(si(0.25), "0.25");
        assert_eq!(si(0.0012), "1.20e-3");
        assert_eq!(si(-1500.0), "-1500");
        assert_eq!(si(12.34), "12.3");
        assert_eq!(si(f64::NAN), "–");
        assert_eq!(rate(0.5), "0.5/s");
        assert_eq!(rate(12.0), "12/s");
        assert_eq!(rate(0.05), "3/min");
        assert_eq!(rate(1.0 / 3600.0), "1/h");
        assert_eq!(rate(0.0), "0/s");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(0.123), "12.3%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.0004), "<0.1%");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1_500_000), "1.5 MB");
    }

    #[test]
    fn civil_times() {
        // 2023-11-14T22:13:20Z
        let t = 1_700_000_000_123_456_789;
        assert_eq!(date_time(t, 0), "2023-11-14 22:13:20.123");
        assert_eq!(date_time(t, 120), "2023-11-15 00:13:20.123");
        assert_eq!(date_time(t, -60), "2023-11-14 21:13:20.123");
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20Z");
        assert_eq!(
            shared::query::parse_time(&rfc3339(t)),
            Ok(1_700_000_000_000_000_000)
        );
        assert_eq!(date_time(0, 0), "1970-01-01 00:00:00.000");
        assert_eq!(rfc3339(951_782_400_000_000_000), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn datetime_local_round_trip() {
        let t = 1_700_000_040_000_000_000;
        for off in [0, 60, -300, 330] {
            let v = datetime_local(t, off);
            assert_eq!(parse_datetime_local(&v, off), Some(t), "{v} {off}");
        }
        assert_eq!(datetime_local(t, 0), "2023-11-14T22:14");
        assert_eq!(
            parse_datetime_local("2023-11-14T22:14:30", 0),
            Some(1_700_000_070_000_000_000)
        );
        assert_eq!(parse_datetime_local("yesterday", 0), None);
        assert_eq!(parse_datetime_local("2023-13-01T00:00", 0), None);
    }

    #[test]
    fn values_as_text() {
        use shared::{AnyValue, KeyValue};
        let v = AnyValue::KvList(vec![
            KeyValue {
                key: "code".into(),
                value: AnyValue::Int(402),
            },
            KeyValue::string("reason", "card declined"),
            KeyValue {
                key: "tags".into(),
                value: AnyValue::Array(vec![AnyValue::String("x".into()), AnyValue::Bool(false)]),
            },
        ]);
        assert_eq!(
            value_text(&v),
            r#"{code=402, reason="card declined", tags=["x", false]}"#
        );
        assert_eq!(value_text(&AnyValue::String("plain".into())), "plain");
    }

    #[test]
    fn relative_and_units() {
        let now = 10_000_000_000_000;
        assert_eq!(ago(now - 5_000_000_000, now), "5s ago");
        assert_eq!(ago(now - 7_200_000_000_000, now), "2h ago");
        assert_eq!(with_unit(0.25, "s"), "250ms");
        assert_eq!(with_unit(1500.0, "ms"), "1.50s");
        assert_eq!(with_unit(2_000_000.0, "By"), "2 MB");
        assert_eq!(with_unit(12.0, "{requests}"), "12 requests");
        assert_eq!(with_unit(0.5, "1"), "0.5");
        assert_eq!(with_unit(3.0, ""), "3");
        assert_eq!(with_unit(3.0, "/s"), "3/s");
        assert_eq!(with_unit(3.0, "requests/s"), "3 requests/s");
    }
}
