// Text assets bundled as strings (build.mjs's raw-text plugin; Vite's `?raw` in the specs).
declare module "*.html?raw" {
  const text: string;
  export default text;
}
