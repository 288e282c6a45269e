// `keyhole doctor` from code: which backends are ready on this machine, and the exact command
// that fixes each one that is not. `main` resolves to the exit code instead of exiting.
import { main } from "@keyhole/cli";

const code = await main(["doctor"]);
console.log(`keyhole doctor exited with ${code}`);
