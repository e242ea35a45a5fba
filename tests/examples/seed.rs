//! Sends the dashboard test scenario (`sightline_tests::scenario`) to a
//! running server, for looking at the dashboard by hand:
//!
//!     cargo run -p sightline-tests --example seed -- http://127.0.0.1:4318 [EXTRA_TRACES]

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:4318".to_owned());
    let extra = args.next().and_then(|n| n.parse().ok()).unwrap_or(40);
    let client = reqwest::Client::new();
    let now = sightline_tests::scenario::now_nanos();
    sightline_tests::scenario::send(&client, url.trim_end_matches('/'), now, extra).await;
    println!("sent the scenario to {url}");
}
