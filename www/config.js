// The model the page and the widget load when none is given: the trained default model
// (www/models/default/MODEL_CARD.md), in the web format. The page refuses a file whose SHA-256 differs.
// Written by scripts/export-default-model.sh; crates/cli/tests/default_model.rs checks the hash.
export const DEFAULT_MODEL = {
  url: "models/default.sslpron",
  sha256: "8181f7ac42db5d43b8ad1c930f852097d87bb3fbcb986b5f6b6a69665f48a11e",
};
