export { BACKENDS, createBackend } from "./backends.js";
export {
  CONFIG_PATH,
  JOB_SCRIPT,
  REGISTER_SCRIPT,
} from "./container-scripts.js";
export {
  type RegisterRunnerOptions,
  type RunnerRegistration,
  registerRunner,
  type Strategy,
} from "./register-runner.js";
export { readTokenFile } from "./token-file.js";
