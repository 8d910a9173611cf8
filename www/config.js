// The model the page and the widget load when none is given. Until a trained model ships, this is a
// tiny untrained one (tests/fixtures/models/wav2vec2-base, converted by `sslpron convert`), and it says so.
// Regenerate with: scripts/make-demo-model.sh (the test suite checks that it is current).
export const DEFAULT_MODEL = {
  url: "models/demo.sslpron",
  sha256: "7f36a3a6920cddf9acee706d7554c01c6559c37f3c9394481b82f31aa5a0d976",
};
