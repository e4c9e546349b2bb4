/**
 * Builds the Java DCB client programs (test/interop/dcb-java: axonserver-connector-java's own DCB client, no Axon
 * Framework) with Maven into a cache folder per checkout outside the repository, and runs them.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { buildMavenProject } from "./java_app.ts";

const project = fileURLToPath(new URL("./dcb-java", import.meta.url));

/** JVM flags for a short-lived test client. */
export const JVM_FLAGS = ["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"];

/** Runs a command to its end; stdout and stderr together. */
export async function run(
  command: string,
  args: string[],
  options: Deno.CommandOptions = {},
): Promise<{ ok: boolean; output: string }> {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped", ...options })
    .output();
  const decoder = new TextDecoder();
  return { ok: out.success, output: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}

/** Compiles the Java programs (offline first); returns the classpath. */
export function buildDcbJava(): Promise<string> {
  return buildMavenProject(project, "dendrite-dcb-interop");
}

/** `RESULT <name> PASS|FAIL <detail>` lines of a Java run, by name. */
export function results(output: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const line of output.split("\n")) {
    const match = /^RESULT (\S+) (PASS|FAIL) ?(.*)$/.exec(line);
    if (match) found.set(match[1], `${match[2]} ${match[3]}`);
  }
  return found;
}
