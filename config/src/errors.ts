/**
 * A configuration that cannot be used. `problems` holds one line per offending setting,
 * already phrased for an operator (`GATEWAY_PORT: "80a" is not a port`).
 */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(problems.join("\n"));
    this.name = "ConfigError";
    this.problems = Object.freeze([...problems]);
  }
}
