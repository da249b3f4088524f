import { defineConfig, type Plugin } from 'vite';

// The page is served at /<ctx> and its files under /<ctx>/webfiles/, for any <ctx> (and behind
// any reverse-proxy prefix), so no URL in the build can be absolute, and a relative one would
// resolve against /<ctx> to the wrong place. This plugin swaps the built <script>/<link> tags for
// one call to SLOOP_LOAD (defined in index.html), which loads them from <ctx>/webfiles/.
function loadFromContextRoot(): Plugin {
  return {
    name: 'sloop-load-from-context-root',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(html) {
        const scripts: string[] = [];
        const styles: string[] = [];
        html = html.replace(/\s*<script type="module" crossorigin src="([^"]+)"><\/script>/g, (_m, src) => {
          scripts.push(src);
          return '';
        });
        html = html.replace(/\s*<link rel="stylesheet" crossorigin href="([^"]+)">/g, (_m, href) => {
          styles.push(href);
          return '';
        });
        if (!scripts.length) throw new Error('sloop: found no built <script> tag to rewrite');
        const call = `<script>SLOOP_LOAD(${JSON.stringify(scripts)}, ${JSON.stringify(styles)});</script>\n</head>`;
        return html.replace('</head>', call);
      },
    },
  };
}

// One bundle, no CDN: the UI must work in an air-gapped cluster.
export default defineConfig({
  base: './',
  plugins: [loadFromContextRoot()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2020',
    chunkSizeWarningLimit: 1024,
    modulePreload: false,
  },
});
