//! `resolve_model` against a fake hub on 127.0.0.1 (tests/support: the hub's URL layout and headers),
//! selected through `HF_ENDPOINT`, with `HF_HOME` in a fresh temporary folder: download, byte identity,
//! the cache (offline, and with the server gone), `HF_TOKEN`, revisions, and every error the crate
//! promises (unknown repository / revision / file, unreachable hub, offline and not cached, a transfer
//! that does not match the announced size).
//!
//! The hub settings are process-wide environment variables: every test holds `ENV` while it runs.

mod support;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use sslpron_hub::{HubError, ModelLocation, Source, resolve_model};
use support::{FakeHub, FakeRepo, TempDir, closed_endpoint, fixture_model};

const REPO: &str = "sslpron-test/tiny";
const SUBFOLDER: &str = "general/wav2vec2-base";
const SPEC: &str = "sslpron-test/tiny:general/wav2vec2-base";
const COMMIT: &str = "5a1c0ffee5a1c0ffee5a1c0ffee5a1c0ffee5a1c";
const FILES: [&str; 3] = ["config.json", "model.safetensors", "preprocessor_config.json"];

static ENV: Mutex<()> = Mutex::new(());

/// Holds the environment lock; `HF_HOME` is a fresh folder, removed with it.
struct HubEnv {
    home: TempDir,
    _guard: MutexGuard<'static, ()>,
}

fn set(key: &str, value: Option<&str>) {
    // SAFETY: every test that reads or writes the environment holds `ENV`, and the tests start no
    // threads that read it outside that lock (hf-hub reads it while building its client, in `resolve_model`).
    unsafe {
        match value {
            Some(v) => std::env::set_var(key, v),
            None => std::env::remove_var(key),
        }
    }
}

fn hub_env(test: &str, endpoint: &str) -> HubEnv {
    let guard = ENV.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let home = TempDir::new(test);
    set("HF_ENDPOINT", Some(endpoint));
    set("HF_HOME", Some(home.path().to_str().unwrap()));
    for key in ["HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE"] {
        set(key, None);
    }
    // A proxy from the developer's environment must not see (or swallow) requests to the fake hub.
    set("NO_PROXY", Some("127.0.0.1,localhost"));
    set("no_proxy", Some("127.0.0.1,localhost"));
    HubEnv { home, _guard: guard }
}

fn tiny_repo() -> FakeRepo {
    FakeRepo::new(REPO, COMMIT).dir(SUBFOLDER, &fixture_model("wav2vec2-base"))
}

fn assert_same_bytes(ours: &Path, fixture: &Path) {
    let (a, b) = (std::fs::read(ours).unwrap(), std::fs::read(fixture).unwrap());
    assert!(a == b, "{} ({} bytes) differs from {} ({} bytes)", ours.display(), a.len(), fixture.display(), b.len());
}

fn assert_is_fixture(location: &ModelLocation) {
    let fixture = fixture_model("wav2vec2-base");
    assert_same_bytes(&location.config, &fixture.join("config.json"));
    assert_same_bytes(&location.weights, &fixture.join("model.safetensors"));
    assert_same_bytes(location.preprocessor.as_ref().expect("preprocessor_config.json"), &fixture.join("preprocessor_config.json"));
    // One directory, the way the CLI loads a local model.
    for (path, name) in [(&location.config, FILES[0]), (&location.weights, FILES[1])] {
        assert_eq!(path, &location.dir.join(name));
    }
    assert_eq!(location.preprocessor.as_deref(), Some(location.dir.join(FILES[2]).as_path()));
}

fn expect_error(spec: &str) -> (HubError, String) {
    match resolve_model(spec) {
        Ok(location) => panic!("{spec}: expected an error, got {location:?}"),
        Err(e) => {
            let message = e.to_string();
            (e, message)
        }
    }
}

fn assert_mentions(message: &str, words: &[&str]) {
    for word in words {
        assert!(message.contains(word), "the message does not mention {word:?}: {message}");
    }
}

#[test]
fn downloads_a_subfolder_into_the_cache_byte_identical() {
    let hub = FakeHub::start(vec![tiny_repo()]);
    let env = hub_env("download", &hub.endpoint());

    let location = resolve_model(SPEC).expect("download");
    assert_is_fixture(&location);
    let snapshot = env.home.path().join("hub/models--sslpron-test--tiny/snapshots").join(COMMIT).join(SUBFOLDER);
    assert_eq!(location.dir, snapshot, "the files live in the hub cache under HF_HOME");
    assert_eq!(location.source, Source::Hub { repo: REPO.into(), subfolder: Some(SUBFOLDER.into()), revision: None, commit: Some(COMMIT.into()) });

    // config.json at `main`, the rest at the commit it resolved to; the weights through the CDN redirect.
    let requests = hub.requests();
    let paths: Vec<String> = requests.iter().map(|r| format!("{} {} {}", r.method, r.path, r.status)).collect();
    let has = |needle: &str| paths.iter().any(|p| p == needle);
    assert!(has(&format!("HEAD /{REPO}/resolve/main/{SUBFOLDER}/config.json 200")), "{paths:#?}");
    assert!(has(&format!("HEAD /{REPO}/resolve/{COMMIT}/{SUBFOLDER}/model.safetensors 302")), "{paths:#?}");
    assert!(paths.iter().any(|p| p.starts_with("GET /cdn/") && p.ends_with(" 200")), "{paths:#?}");
    assert!(requests.iter().all(|r| r.authorization.is_none()), "no token was set: {requests:#?}");

    // A second online run asks the hub (conditional HEAD for config.json) and downloads nothing again.
    let before = hub.requests().len();
    assert_eq!(resolve_model(SPEC).expect("second run"), location);
    let again: Vec<_> = hub.requests()[before..].to_vec();
    assert!(again.iter().all(|r| r.method == "HEAD"), "the second run downloaded again: {again:#?}");
}

#[test]
fn the_cache_serves_offline_and_when_the_hub_is_gone() {
    let hub = FakeHub::start(vec![tiny_repo()]);
    let _env = hub_env("offline_cache", &hub.endpoint());
    let online = resolve_model(SPEC).expect("download");
    hub.stop();

    set("HF_HUB_OFFLINE", Some("1"));
    let offline = resolve_model(SPEC).expect("HF_HUB_OFFLINE=1 with a filled cache");
    assert_eq!(offline, online);
    assert_is_fixture(&offline);

    // Not offline, but the hub refuses connections: hf-hub falls back to the cache.
    set("HF_HUB_OFFLINE", None);
    let fallback = resolve_model(SPEC).expect("hub gone, cache filled");
    assert_eq!(fallback, online);
}

#[test]
fn offline_with_an_empty_cache_says_so() {
    let hub = FakeHub::start(vec![tiny_repo()]);
    let env = hub_env("offline_empty", &hub.endpoint());
    set("HF_HUB_OFFLINE", Some("true"));
    let (error, message) = expect_error(SPEC);
    assert!(matches!(error, HubError::NotCached { .. }), "{error:?}");
    assert_mentions(&message, &[REPO, "general/wav2vec2-base/config.json", "HF_HUB_OFFLINE", "not in the local cache"]);
    assert_mentions(&message, &[env.home.path().to_str().unwrap()]);
    assert!(hub.requests().is_empty(), "offline mode made requests: {:#?}", hub.requests());
}

#[test]
fn an_unknown_repository_is_named() {
    let hub = FakeHub::start(vec![tiny_repo()]);
    let _env = hub_env("unknown_repo", &hub.endpoint());
    let (error, message) = expect_error("sslpron-test/no-such-repo:general/wav2vec2-base");
    // No local path of that name either: the message says both.
    assert!(matches!(&error, HubError::NoSuchModel { hub, .. } if matches!(**hub, HubError::RepoNotFound { status: 404, .. })), "{error:?}");
    assert_mentions(&message, &["`sslpron-test/no-such-repo`", "not found", &hub.endpoint()]);
}

#[test]
fn an_unknown_subfolder_names_the_file() {
    let hub = FakeHub::start(vec![tiny_repo()]);
    let _env = hub_env("unknown_subfolder", &hub.endpoint());
    let (error, message) = expect_error("sslpron-test/tiny:general/nope");
    assert!(matches!(error, HubError::FileNotFound { .. }), "{error:?}");
    assert_mentions(&message, &[REPO, "`general/nope/config.json`", "404", "`general/nope`"]);
}

#[test]
fn a_missing_weights_file_is_named() {
    let repo = tiny_repo().without(&format!("{SUBFOLDER}/model.safetensors"));
    let hub = FakeHub::start(vec![repo]);
    let _env = hub_env("missing_weights", &hub.endpoint());
    let (error, message) = expect_error(SPEC);
    assert!(matches!(error, HubError::FileNotFound { .. }), "{error:?}");
    assert_mentions(&message, &[REPO, "`general/wav2vec2-base/model.safetensors`", "404"]);
}

#[test]
fn a_model_without_preprocessor_config_works_online_and_offline() {
    let repo = tiny_repo().without(&format!("{SUBFOLDER}/preprocessor_config.json"));
    let hub = FakeHub::start(vec![repo]);
    let _env = hub_env("no_preprocessor", &hub.endpoint());
    let online = resolve_model(SPEC).expect("download without preprocessor_config.json");
    assert_eq!(online.preprocessor, None);
    assert_same_bytes(&online.weights, &fixture_model("wav2vec2-base").join("model.safetensors"));
    hub.stop();
    // The 404 was remembered in the cache (`.no_exist`), so offline knows the file is absent.
    set("HF_HUB_OFFLINE", Some("1"));
    assert_eq!(resolve_model(SPEC).expect("offline"), online);
}

#[test]
fn an_unreachable_hub_is_reported_with_its_address() {
    let endpoint = closed_endpoint();
    let _env = hub_env("unreachable", &endpoint);
    let (error, message) = expect_error(SPEC);
    assert!(matches!(error, HubError::Unreachable { .. }), "{error:?}");
    assert_mentions(&message, &[REPO, "general/wav2vec2-base/config.json", "cannot reach", &endpoint, "Connection refused", "HF_HUB_OFFLINE"]);
}

#[test]
fn a_private_repository_needs_hf_token() {
    let repo = FakeRepo::new("sslpron-test/private", COMMIT).dir(SUBFOLDER, &fixture_model("wav2vec2-base")).private("hf_test_token");
    let hub = FakeHub::start(vec![repo]);
    let _env = hub_env("private", &hub.endpoint());
    let spec = "sslpron-test/private:general/wav2vec2-base";

    let (error, message) = expect_error(spec);
    // No local path of that name either: the message says both.
    assert!(matches!(&error, HubError::NoSuchModel { hub, .. } if matches!(**hub, HubError::RepoNotFound { status: 401, .. })), "{error:?}");
    assert_mentions(&message, &["`sslpron-test/private`", "HF_TOKEN"]);

    set("HF_TOKEN", Some("hf_test_token"));
    let location = resolve_model(spec).expect("download with HF_TOKEN");
    assert_is_fixture(&location);
    let resolves: Vec<_> = hub.requests().into_iter().filter(|r| r.path.contains("/resolve/")).collect();
    assert!(resolves.iter().any(|r| r.authorization.as_deref() == Some("Bearer hf_test_token")), "{resolves:#?}");
}

#[test]
fn a_revision_can_be_pinned_and_an_unknown_one_is_named() {
    let hub = FakeHub::start(vec![tiny_repo()]);
    let _env = hub_env("revision", &hub.endpoint());
    let location = resolve_model(&format!("{REPO}@{COMMIT}:{SUBFOLDER}")).expect("pinned to the commit");
    assert_is_fixture(&location);
    assert!(hub.requests().iter().all(|r| !r.path.contains("/resolve/main/")), "{:#?}", hub.requests());

    let (error, message) = expect_error(&format!("{REPO}@v9:{SUBFOLDER}"));
    assert!(matches!(error, HubError::RevisionNotFound { .. }), "{error:?}");
    assert_mentions(&message, &[REPO, "`v9`"]);
}

#[test]
fn a_transfer_that_is_not_the_file_is_not_kept() {
    let hub = FakeHub::start(vec![tiny_repo()]);
    let _env = hub_env("bad_transfer", &hub.endpoint());
    // The CDN answers the weights' GET with a 403 error page (an expired signed link): hf-hub 1.0 does
    // not check the GET's status and would cache the error page as model.safetensors.
    hub.fail_next_cdn_gets(1);
    let (error, message) = expect_error(SPEC);
    assert!(matches!(error, HubError::Download { .. }), "{error:?}");
    assert_mentions(&message, &[REPO, "general/wav2vec2-base/model.safetensors", "215968", "nothing was kept"]);

    // Nothing bad stayed in the cache: the next run downloads the real file.
    let location = resolve_model(SPEC).expect("download after the failed one");
    assert_is_fixture(&location);
}

#[test]
fn a_local_directory_wins_and_other_strings_are_refused() {
    let _env = hub_env("local", &closed_endpoint());
    let fixture = fixture_model("wav2vec2-base");
    let location = resolve_model(fixture.to_str().unwrap()).expect("a local directory");
    assert_eq!(location.dir, fixture);
    assert_eq!(location.source, Source::Local);
    assert_is_fixture(&location);

    // An existing file is not a model directory; a missing path that is no hub id neither.
    let file = fixture.join("config.json");
    for spec in [file.to_str().unwrap(), "/no/such/model/dir", "just-a-name"] {
        let (error, message) = expect_error(spec);
        assert!(matches!(error, HubError::NotAModel { .. }), "{spec}: {error:?}");
        assert_mentions(&message, &[spec, "not a model directory"]);
    }
}
