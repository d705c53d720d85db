// `import source from "./spawn.c" with { type: "text" }`: Bun embeds the file's text in the
// binary at build time; this tells the type checker what such an import yields.
declare module "*.c" {
  const text: string;
  export default text;
}
