//! Model directories from the Hugging Face hub (native only).
//!
//! [`resolve_model`] turns what a user gives `--model` into the files of a model directory (the hub's
//! layout: `config.json`, `model.safetensors`, optional `preprocessor_config.json`):
//!
//! - a path that exists is a local directory and is returned as is;
//! - otherwise `OWNER/NAME[@REVISION][:SUBFOLDER]` is a hub model: e.g.
//!   `haeylee/ssl_ft_pron:wav2vec2/general/01_wav2vec2-large` or `facebook/wav2vec2-base`. The three files
//!   are downloaded from `SUBFOLDER/` into the hub cache (shared with Python's `huggingface_hub`) and the
//!   cache's snapshot directory is returned. `preprocessor_config.json` may be absent on the hub.
//!
//! The environment is the hub's usual one: `HF_ENDPOINT` (hub URL), `HF_HOME` / `HF_HUB_CACHE` (cache
//! location), `HF_TOKEN` / `HF_TOKEN_PATH` / `$HF_HOME/token` (private and gated repositories),
//! `HF_HUB_OFFLINE=1` (no network at all: the cache or a clear "offline and not cached" error).
//!
//! All files of one model come from one commit: `config.json` is resolved first (at `REVISION`, default
//! `main`), the others are then fetched at the commit it resolved to.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use hf_hub::progress::{DownloadEvent, FileStatus, Progress, ProgressEvent, ProgressHandler};
use hf_hub::{HFClient, HFClientSync, HFError};

/// The files of a model directory, local or in the hub cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelLocation {
    /// The directory holding the files (for a hub model, `…/snapshots/<commit>/<subfolder>`).
    pub dir: PathBuf,
    pub config: PathBuf,
    pub weights: PathBuf,
    /// `None` when the model has no `preprocessor_config.json`.
    pub preprocessor: Option<PathBuf>,
    pub source: Source,
}

/// Where a [`ModelLocation`] came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Local,
    Hub {
        repo: String,
        subfolder: Option<String>,
        /// The revision asked for (`None`: `main`).
        revision: Option<String>,
        /// The commit the files were taken from, when the cache layout tells it.
        commit: Option<String>,
    },
}

/// A parsed `OWNER/NAME[@REVISION][:SUBFOLDER]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubModelId {
    pub repo: String,
    pub revision: Option<String>,
    /// Without leading or trailing `/`; `None` for the repository root.
    pub subfolder: Option<String>,
}

impl HubModelId {
    /// Parses `OWNER/NAME[@REVISION][:SUBFOLDER]`; `None` when `spec` does not have that shape (the hub's
    /// naming rules: letters, digits, `-`, `_`, `.`; no `--` or `..`; no leading or trailing `-` / `.`).
    pub fn parse(spec: &str) -> Option<Self> {
        let (id, subfolder) = match spec.split_once(':') {
            Some((id, sub)) => (id, Some(sub)),
            None => (spec, None),
        };
        let (repo, revision) = match id.split_once('@') {
            Some((repo, rev)) => (repo, Some(rev)),
            None => (id, None),
        };
        let (owner, name) = repo.split_once('/')?;
        if !valid_name(owner) || !valid_name(name) {
            return None;
        }
        let revision = match revision {
            None => None,
            Some(rev) if rev.is_empty() || rev.contains("..") || rev.chars().any(|c| c.is_whitespace() || c.is_control()) => {
                return None;
            }
            Some(rev) => Some(rev.to_string()),
        };
        let subfolder = match subfolder.map(|s| s.trim_matches('/')) {
            None | Some("") => None,
            Some(sub) => {
                let ok = !sub.contains('\\')
                    && sub.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
                    && !sub.chars().any(|c| c.is_control());
                if !ok {
                    return None;
                }
                Some(sub.to_string())
            }
        };
        Some(Self { repo: repo.to_string(), revision, subfolder })
    }

    /// The path of `file` inside the repository.
    pub fn path_of(&self, file: &str) -> String {
        match &self.subfolder {
            Some(sub) => format!("{sub}/{file}"),
            None => file.to_string(),
        }
    }
}

impl std::fmt::Display for HubModelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.repo)?;
        if let Some(rev) = &self.revision {
            write!(f, "@{rev}")?;
        }
        if let Some(sub) = &self.subfolder {
            write!(f, ":{sub}")?;
        }
        Ok(())
    }
}

fn valid_name(part: &str) -> bool {
    !part.is_empty()
        && part.len() <= 96
        && part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !part.contains("--")
        && !part.contains("..")
        && !part.starts_with(['-', '.'])
        && !part.ends_with(['-', '.'])
}

/// Whether `spec` would be taken as a hub model id (when no path of that name exists).
pub fn looks_like_hub_id(spec: &str) -> bool {
    HubModelId::parse(spec).is_some()
}

/// What went wrong, naming the repository, the file and the problem.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error(
        "{spec}: not a model directory (expected config.json and model.safetensors in it), nor a hub model id (OWNER/NAME[@REVISION][:SUBFOLDER])"
    )]
    NotAModel { spec: String },

    /// A spec that is no local path and whose hub repository does not exist: the user may have meant
    /// either, so the message says both.
    #[error("{spec}: no such directory, and {hub}")]
    NoSuchModel { spec: String, hub: Box<HubError> },

    #[error("hub repository `{repo}` not found at {endpoint} (HTTP {status}){hint}")]
    RepoNotFound { repo: String, endpoint: String, status: u16, hint: &'static str },

    #[error("hub repository `{repo}` has no revision `{revision}` (HTTP 404)")]
    RevisionNotFound { repo: String, revision: String },

    #[error("hub repository `{repo}` (revision {revision}) has no file `{file}` (HTTP 404){hint}")]
    FileNotFound { repo: String, revision: String, file: String, hint: String },

    #[error(
        "hub repository `{repo}`: access to `{file}` refused (HTTP {status}{detail}): a private or gated repository needs a token with access (HF_TOKEN)"
    )]
    AccessDenied { repo: String, file: String, status: u16, detail: String },

    #[error("cannot download `{file}` of hub repository `{repo}`: cannot reach {endpoint} ({detail}); HF_HUB_OFFLINE=1 uses the local cache only")]
    Unreachable { repo: String, file: String, endpoint: String, detail: String },

    #[error("`{file}` of hub repository `{repo}` is not in the local cache ({cache}), and HF_HUB_OFFLINE is set, so it cannot be downloaded")]
    NotCached { repo: String, file: String, cache: String },

    #[error("cannot download `{file}` of hub repository `{repo}`: {detail}")]
    Download { repo: String, file: String, detail: String },

    #[error("cannot use the hub: {detail}")]
    Client { detail: String },
}

/// How [`resolve_model_with`] behaves; [`Options::from_env`] is what [`resolve_model`] uses.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// No network: only the local cache (`HF_HUB_OFFLINE`).
    pub offline: bool,
    /// Draw download progress of large files on stderr.
    pub progress: bool,
}

impl Options {
    /// `offline` from `HF_HUB_OFFLINE` (`1`, `true`, `yes`, `on`, any case, as `huggingface_hub`), and
    /// progress when stderr is a terminal.
    pub fn from_env() -> Self {
        let offline =
            std::env::var("HF_HUB_OFFLINE").map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")).unwrap_or(false);
        Self { offline, progress: std::io::stderr().is_terminal() }
    }
}

/// Where a model given on a command line is: a path that exists must be a model directory; any other
/// `OWNER/NAME[@REVISION][:SUBFOLDER]` is a hub model, downloaded into the hub cache. The one set of
/// rules for every shell (a web-format file is the shells' own case, checked before this).
/// Settings come from the environment ([`Options::from_env`]; hf-hub reads `HF_ENDPOINT`, `HF_HOME`, `HF_TOKEN`).
pub fn resolve_model(spec: &str) -> Result<ModelLocation, HubError> {
    resolve_model_with(spec, &Options::from_env())
}

/// [`resolve_model`] with explicit [`Options`].
pub fn resolve_model_with(spec: &str, options: &Options) -> Result<ModelLocation, HubError> {
    let path = Path::new(spec);
    if path.exists() {
        if !path.is_dir() {
            return Err(HubError::NotAModel { spec: spec.to_string() });
        }
        return Ok(local(path));
    }
    match HubModelId::parse(spec) {
        Some(id) => download(&id, options).map_err(|e| match e {
            HubError::RepoNotFound { .. } => HubError::NoSuchModel { spec: spec.to_string(), hub: Box::new(e) },
            e => e,
        }),
        None => Err(HubError::NotAModel { spec: spec.to_string() }),
    }
}

/// The files of a local directory (not checked beyond whether `preprocessor_config.json` exists).
pub fn local(dir: &Path) -> ModelLocation {
    let preprocessor = dir.join(PREPROCESSOR);
    ModelLocation {
        dir: dir.to_path_buf(),
        config: dir.join(CONFIG),
        weights: dir.join(WEIGHTS),
        preprocessor: preprocessor.exists().then_some(preprocessor),
        source: Source::Local,
    }
}

const CONFIG: &str = "config.json";
const WEIGHTS: &str = "model.safetensors";
const PREPROCESSOR: &str = "preprocessor_config.json";

/// Downloads (or finds in the cache) the model files of `id`.
pub fn download(id: &HubModelId, options: &Options) -> Result<ModelLocation, HubError> {
    // Three attempts (≤ 1.4 s of back-off) instead of hf-hub's five: a refused connection fails quickly.
    let client = HFClient::builder().retry_max_attempts(3).build().map_err(|e| HubError::Client { detail: chain(&e) })?;
    let ctx = Context {
        id,
        endpoint: client.endpoint().to_string(),
        cache: client.cache_dir().to_path_buf(),
        offline: options.offline,
        progress: options.progress,
    };
    let client = HFClientSync::from_inner(client).map_err(|e| HubError::Client { detail: chain(&e) })?;
    let (owner, name) = hf_hub::split_id(&id.repo);
    let repo = client.model(owner, name);

    let config_file = id.path_of(CONFIG);
    let config = ctx.fetch(&repo, &config_file, id.revision.as_deref()).map_err(|e| ctx.config_error(&repo, e))?;

    // The snapshot directory is `…/snapshots/<commit>/<config_file>`: fetch the rest at that commit.
    let commit = config
        .ancestors()
        .nth(config_file.split('/').count())
        .and_then(Path::file_name)
        .and_then(|s| s.to_str())
        .filter(|s| s.len() == 40 && s.chars().all(|c| c.is_ascii_hexdigit()))
        .map(str::to_string);
    let pinned = commit.as_deref().or(id.revision.as_deref());

    let weights_file = id.path_of(WEIGHTS);
    let weights = ctx.fetch(&repo, &weights_file, pinned).map_err(|e| ctx.error(&weights_file, e))?;

    let preprocessor_file = id.path_of(PREPROCESSOR);
    let preprocessor = match ctx.fetch(&repo, &preprocessor_file, pinned) {
        Ok(path) => Some(path),
        Err(Fetch::Hub(HFError::EntryNotFound { .. })) => None,
        Err(e) => return Err(ctx.error(&preprocessor_file, e)),
    };

    let dir = config.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(ModelLocation {
        dir,
        config,
        weights,
        preprocessor,
        source: Source::Hub { repo: id.repo.clone(), subfolder: id.subfolder.clone(), revision: id.revision.clone(), commit },
    })
}

struct Context<'a> {
    id: &'a HubModelId,
    endpoint: String,
    cache: PathBuf,
    offline: bool,
    progress: bool,
}

/// A failed fetch: hf-hub's error, or a transfer that ended short of the size the hub announced.
enum Fetch {
    Hub(HFError),
    Truncated { got: u64, expected: u64 },
}

impl Context<'_> {
    fn revision(&self) -> &str {
        self.id.revision.as_deref().unwrap_or("main")
    }

    /// One file through the cache. A transfer is checked against the size the hub announced: hf-hub 1.0
    /// writes whatever the GET returns (an error page from an expired CDN link, say) into the cache as
    /// the file, so a short or long transfer is removed from the cache and reported.
    fn fetch(&self, repo: &hf_hub::HFRepositorySync<hf_hub::RepoTypeModel>, file: &str, revision: Option<&str>) -> Result<PathBuf, Fetch> {
        let tracker = std::sync::Arc::new(Tracker::new(file, self.progress));
        let path = repo
            .download_file()
            .filename(file)
            .maybe_revision(revision.map(str::to_string))
            .local_files_only(self.offline)
            .progress(Progress::from(tracker.clone()))
            .send()
            .map_err(Fetch::Hub)?;
        tracker.finish();
        if let Some((got, expected)) = tracker.short_transfer() {
            // Remove the bad blob and its snapshot link, so the next run downloads it again.
            if let Ok(blob) = std::fs::canonicalize(&path) {
                let _ = std::fs::remove_file(blob);
            }
            let _ = std::fs::remove_file(&path);
            return Err(Fetch::Truncated { got, expected });
        }
        Ok(path)
    }

    /// `config.json` is fetched first: a 404 there may mean no repository, no revision or no such
    /// subfolder, which HEAD alone cannot tell apart (hf-hub 1.0 calls every 404 on a file an
    /// `EntryNotFound`), so ask the API which it is.
    fn config_error(&self, repo: &hf_hub::HFRepositorySync<hf_hub::RepoTypeModel>, e: Fetch) -> HubError {
        let file = self.id.path_of(CONFIG);
        if let Fetch::Hub(HFError::EntryNotFound { .. }) = &e
            && !self.offline
        {
            match repo.exists().send() {
                Ok(false) => return self.repo_not_found(404),
                Err(HFError::AuthRequired { .. } | HFError::Forbidden { .. }) => return self.repo_not_found(401),
                _ => {}
            }
            if let Some(revision) = &self.id.revision
                && let Ok(false) = repo.revision_exists().revision(revision).send()
            {
                return HubError::RevisionNotFound { repo: self.id.repo.clone(), revision: revision.clone() };
            }
            let hint = match &self.id.subfolder {
                Some(sub) => format!(": is `{sub}` a model folder of this repository?"),
                None => ": a repository with its models in subfolders needs OWNER/NAME:SUBFOLDER".to_string(),
            };
            return HubError::FileNotFound { repo: self.id.repo.clone(), revision: self.revision().to_string(), file, hint };
        }
        self.error(&file, e)
    }

    fn repo_not_found(&self, status: u16) -> HubError {
        let hint = if status == 404 { "" } else { " (or it is private or gated: set HF_TOKEN to a token with access)" };
        HubError::RepoNotFound { repo: self.id.repo.clone(), endpoint: self.endpoint.clone(), status, hint }
    }

    fn error(&self, file: &str, e: Fetch) -> HubError {
        let repo = self.id.repo.clone();
        let file = file.to_string();
        let e = match e {
            Fetch::Truncated { got, expected } => {
                return HubError::Download {
                    repo,
                    file,
                    detail: format!(
                        "the server sent {got} bytes where the hub announced {expected} (an error page or a cut transfer); nothing was kept in the cache"
                    ),
                };
            }
            Fetch::Hub(e) => e,
        };
        match e {
            HFError::RepoNotFound { .. } => self.repo_not_found(404),
            HFError::RevisionNotFound { revision, .. } => HubError::RevisionNotFound { repo, revision },
            HFError::EntryNotFound { .. } => HubError::FileNotFound { repo, revision: self.revision().to_string(), file, hint: String::new() },
            HFError::LocalEntryNotFound { .. } => HubError::NotCached { repo, file, cache: self.cache.display().to_string() },
            HFError::AuthRequired { context } | HFError::Forbidden { context } => match context.error_code.as_deref() {
                Some("RepoNotFound") => self.repo_not_found(context.status.as_u16()),
                Some("RevisionNotFound") => HubError::RevisionNotFound { repo, revision: self.revision().to_string() },
                Some("EntryNotFound") => HubError::FileNotFound { repo, revision: self.revision().to_string(), file, hint: String::new() },
                _ => {
                    let detail = context.server_message.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
                    HubError::AccessDenied { repo, file, status: context.status.as_u16(), detail }
                }
            },
            HFError::Request { ref source, .. } if source.is_connect() || source.is_timeout() => {
                // The innermost cause ("Connection refused (os error 111)", "dns error: …", "operation timed out").
                let detail = root_cause(source);
                HubError::Unreachable { repo, file, endpoint: self.endpoint.clone(), detail }
            }
            HFError::Http { context } => {
                let message = context.server_message.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
                HubError::Download { repo, file, detail: format!("HTTP {}{message} ({})", context.status, context.url) }
            }
            other => HubError::Download { repo, file, detail: chain(&other) },
        }
    }
}

/// An error and its sources, `: `-joined, without repeats (reqwest's own message is only "error sending
/// request"; the cause, e.g. "Connection refused", is further down).
fn chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Follows one file's download: the size the hub announced and the bytes that arrived, and (when asked)
/// draws a progress line on stderr for files of 1 MiB and more.
struct Tracker {
    file: String,
    draw: bool,
    state: Mutex<TrackerState>,
}

#[derive(Default)]
struct TrackerState {
    /// Bytes announced by the hub (HEAD), when a transfer started.
    expected: Option<u64>,
    received: u64,
    transferred: bool,
    shown_permille: Option<u64>,
}

const DRAW_MIN_BYTES: u64 = 1 << 20;

impl Tracker {
    fn new(file: &str, draw: bool) -> Self {
        Self { file: file.to_string(), draw, state: Mutex::new(TrackerState::default()) }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, TrackerState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `Some((received, expected))` when bytes were transferred and their count is not the announced size.
    fn short_transfer(&self) -> Option<(u64, u64)> {
        let state = self.state();
        match state.expected {
            Some(expected) if state.transferred && expected > 0 && state.received != expected => Some((state.received, expected)),
            _ => None,
        }
    }

    fn finish(&self) {
        let state = self.state();
        if state.shown_permille.is_some() {
            let _ = writeln!(std::io::stderr().lock());
        }
    }

    fn draw(&self, state: &mut TrackerState) {
        let Some(total) = state.expected.filter(|&t| t >= DRAW_MIN_BYTES) else { return };
        if !self.draw {
            return;
        }
        let permille = (state.received.min(total) * 1000) / total;
        if state.shown_permille.is_some_and(|shown| shown / 5 == permille / 5) {
            return;
        }
        state.shown_permille = Some(permille);
        let mb = |b: u64| b as f64 / 1e6;
        let _ = write!(
            std::io::stderr().lock(),
            "\rsslpron: downloading {}: {:.1} / {:.1} MB ({:.0}%)",
            self.file,
            mb(state.received),
            mb(total),
            permille as f64 / 10.0
        );
    }
}

impl ProgressHandler for Tracker {
    fn on_progress(&self, event: &ProgressEvent) {
        let ProgressEvent::Download(event) = event else { return };
        let mut state = self.state();
        match event {
            DownloadEvent::Start { total_bytes, .. } => state.expected = Some(*total_bytes),
            DownloadEvent::Progress { files } => {
                for f in files.iter().filter(|f| f.filename == self.file) {
                    match f.status {
                        // `Started` and `InProgress` come only from a real transfer; a cache hit sends
                        // `Complete` alone.
                        FileStatus::Started | FileStatus::InProgress => {
                            state.transferred = true;
                            state.received = f.bytes_completed;
                        }
                        FileStatus::Complete => {}
                    }
                }
                self.draw(&mut state);
            }
            DownloadEvent::AggregateProgress { bytes_completed, total_bytes, .. } => {
                // Xet transfers report totals only.
                state.expected = Some(*total_bytes);
                state.received = *bytes_completed;
                self.draw(&mut state);
            }
            DownloadEvent::Complete => {}
        }
    }
}

/// A model directory's files read into memory, named by their paths for error messages.
pub struct ModelBytes {
    pub config_name: String,
    pub config: Vec<u8>,
    pub preprocessor_name: String,
    pub preprocessor: Option<Vec<u8>>,
    pub weights_name: String,
    pub weights: Vec<u8>,
}

impl ModelLocation {
    /// Reads the files; an unreadable one is an error naming it.
    pub fn read(&self) -> Result<ModelBytes, String> {
        let read = |path: &Path| std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()));
        let preprocessor_path = self.preprocessor.clone().unwrap_or_else(|| self.dir.join("preprocessor_config.json"));
        Ok(ModelBytes {
            config_name: self.config.display().to_string(),
            config: read(&self.config)?,
            preprocessor_name: preprocessor_path.display().to_string(),
            preprocessor: match &self.preprocessor {
                Some(path) => Some(read(path)?),
                None => None,
            },
            weights_name: self.weights.display().to_string(),
            weights: read(&self.weights)?,
        })
    }
}

impl ModelBytes {
    /// The files as the model crate takes them.
    pub fn files(&self) -> sslpron_model::ModelFiles<'_> {
        sslpron_model::ModelFiles {
            config_name: &self.config_name,
            config_json: &self.config,
            preprocessor_name: &self.preprocessor_name,
            preprocessor_json: self.preprocessor.as_deref(),
            weights_name: &self.weights_name,
            weights: &self.weights,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(repo: &str, revision: Option<&str>, subfolder: Option<&str>) -> Option<HubModelId> {
        Some(HubModelId { repo: repo.into(), revision: revision.map(Into::into), subfolder: subfolder.map(Into::into) })
    }

    #[test]
    fn parses_hub_ids() {
        assert_eq!(HubModelId::parse("facebook/wav2vec2-base"), id("facebook/wav2vec2-base", None, None));
        assert_eq!(
            HubModelId::parse("haeylee/ssl_ft_pron:wav2vec2/general/01_wav2vec2-large"),
            id("haeylee/ssl_ft_pron", None, Some("wav2vec2/general/01_wav2vec2-large"))
        );
        assert_eq!(HubModelId::parse("a/b@v1.0:sub/"), id("a/b", Some("v1.0"), Some("sub")));
        assert_eq!(HubModelId::parse("a/b@refs/pr/3"), id("a/b", Some("refs/pr/3"), None));
        assert_eq!(HubModelId::parse("a/b:"), id("a/b", None, None));
        assert_eq!(HubModelId::parse("a/b@main:x/y").unwrap().to_string(), "a/b@main:x/y");
    }

    #[test]
    fn rejects_what_is_not_a_hub_id() {
        for spec in [
            "wav2vec2-base",
            "/abs/path",
            "./rel/path",
            "../up/path",
            "a/b/c",
            "tests/fixtures/models/x",
            "a//b",
            "-a/b",
            "a/b.",
            "a--x/b",
            "a/b..c",
            "a/b c",
            "a/b@",
            "a/b@x y",
            "a/b:../up",
            "a/b:x//y",
            "a/b:x\\y",
            "",
        ] {
            assert_eq!(HubModelId::parse(spec), None, "{spec:?}");
        }
    }

    #[test]
    fn path_of_joins_the_subfolder() {
        let with = HubModelId::parse("a/b:x/y").unwrap();
        assert_eq!(with.path_of("config.json"), "x/y/config.json");
        let without = HubModelId::parse("a/b").unwrap();
        assert_eq!(without.path_of("config.json"), "config.json");
    }

    #[test]
    fn chain_keeps_distinct_causes() {
        let inner = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let outer = std::io::Error::other(inner);
        assert_eq!(chain(&outer), "Connection refused");
    }
}
