/**
 * Regenerates the protobuf TypeScript under `src/gen` with buf and protoc-gen-es (both from npm).
 *
 * Inputs: the app's own protos (`proto/`), the current Axon Server API protos shipped inside the Apache-2.0 jar
 * `io.axoniq:axonserver-connector-java` (fetched with Maven's ordinary client when absent from the local
 * repository, extracted into a temporary folder), and the gRPC server reflection protos (`grpc.reflection.v1`
 * and `v1alpha`) shipped by the npm package `@grpc/reflection`. No .proto file of either is copied into this
 * repository.
 *
 * `deno task gen` writes `src/gen`; `deno run -A scripts/gen.ts --check` generates into a temporary folder
 * and fails when the result differs from what is committed (drift check, part of `deno task check`).
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { join, relative } from "node:path";

const root = fileURLToPath(new URL("..", import.meta.url));
const axonJar = { group: "io.axoniq", artifact: "axonserver-connector-java", version: "2025.2.1" };
const reflectionProtos = join(root, "node_modules", "@grpc", "reflection", "build", "proto");

async function run(cmd: string, args: string[], cwd = root): Promise<void> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "inherit", stderr: "inherit" }).output();
  if (!out.success) throw new Error(`"${cmd} ${args.join(" ")}" failed with exit code ${out.code}`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function output(cmd: string, args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "inherit" }).output();
  if (!out.success) throw new Error(`"${cmd} ${args.join(" ")}" failed with exit code ${out.code}`);
  return new TextDecoder().decode(out.stdout);
}

/**
 * Copies the connector jar out of the local Maven repository (Maven fetches it from Maven Central when it is
 * absent) and extracts its .proto files into `dir`.
 */
async function extractAxonProtos(dir: string): Promise<void> {
  const { group, artifact, version } = axonJar;
  await run("mvn", [
    "-q",
    "dependency:copy",
    `-Dartifact=${group}:${artifact}:${version}`,
    `-DoutputDirectory=${dir}`,
  ]);
  const jar = join(dir, `${artifact}-${version}.jar`);
  const protos = (await output("jar", ["tf", jar], dir)).split(/\r?\n/).filter((name) =>
    name.endsWith(".proto")
  );
  if (protos.length === 0) throw new Error(`${jar} holds no .proto files`);
  await run("jar", ["xf", jar, ...protos], dir);
  await Deno.remove(jar);
}

async function generate(outDir: string): Promise<void> {
  if (!(await exists(reflectionProtos))) await run(Deno.execPath(), ["install"]);
  const axonProtos = await Deno.makeTempDir({ prefix: "axon-protos-" });
  try {
    await extractAxonProtos(axonProtos);
    await generateFrom(outDir, axonProtos);
  } finally {
    await Deno.remove(axonProtos, { recursive: true });
  }
}

async function generateFrom(outDir: string, axonProtos: string): Promise<void> {
  const buf = [Deno.execPath(), "run", "-A", "npm:@bufbuild/buf@1.75.0"];
  await run(buf[0], [...buf.slice(1), "lint"]);
  await run(buf[0], [...buf.slice(1), "generate", "proto", "--template", "buf.gen.yaml", "-o", outDir]);
  await run(buf[0], [
    ...buf.slice(1),
    "generate",
    axonProtos,
    "--template",
    "buf.gen.yaml",
    "-o",
    join(outDir, "axon"),
  ]);
  await run(buf[0], [
    ...buf.slice(1),
    "generate",
    relative(root, reflectionProtos),
    "--path",
    relative(root, join(reflectionProtos, "grpc", "reflection", "v1")),
    "--path",
    relative(root, join(reflectionProtos, "grpc", "reflection", "v1alpha")),
    "--template",
    "buf.gen.yaml",
    "-o",
    outDir,
  ]);
}

async function listFiles(dir: string, prefix = ""): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    const name = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory) {
      for (const [k, v] of await listFiles(path, name)) files.set(k, v);
    } else {
      files.set(name, await Deno.readTextFile(path));
    }
  }
  return files;
}

const target = join(root, "src", "gen");
if (Deno.args.includes("--check")) {
  const temp = await Deno.makeTempDir({ prefix: "gen-check-" });
  try {
    await generate(temp);
    const [fresh, committed] = await Promise.all([listFiles(temp), listFiles(target)]);
    const drift = [...new Set([...fresh.keys(), ...committed.keys()])]
      .filter((name) => fresh.get(name) !== committed.get(name))
      .sort();
    if (drift.length > 0) {
      console.error(`src/gen is out of date; run "deno task gen". Differs: ${drift.join(", ")}`);
      Deno.exitCode = 1;
    } else {
      console.log("src/gen is up to date.");
    }
  } finally {
    await Deno.remove(temp, { recursive: true });
  }
} else {
  await Deno.remove(target, { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  await generate(target);
  console.log("Generated src/gen.");
}
