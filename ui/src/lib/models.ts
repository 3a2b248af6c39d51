// The model zoo and training presets that `emrel-ml` offers (its `zoo.rs`: `Arch::name` and
// `PRESETS`); the training view's choices.

export const MODELS = ["resgru-att", "resgru", "resnet", "bigru-att", "bilstm-att", "pcnn", "cnn-att", "cnn"];

export const PRESETS = [
  { id: "cpu", label: "cpu — trains in minutes on a laptop" },
  { id: "paper", label: "paper — the paper's Table 4 settings" },
  { id: "tiny", label: "tiny — seconds, for trying things out" },
];
