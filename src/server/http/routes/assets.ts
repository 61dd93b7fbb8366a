/**
 * Static files: our CSS/JS from static/, htmx and uPlot straight from their
 * installed npm packages (not copied), and the example thumbnails.
 */
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';
import type { AppDeps } from '../../deps.js';
import { packageFile, STATIC_DIR } from '../../paths.js';

/** Browser files taken from node_modules, by the URL they are served at. */
const VENDOR: Record<string, [pkg: string, file: string]> = {
  'htmx.min.js': ['htmx.org', 'dist/htmx.min.js'],
  'uplot.min.js': ['uplot', 'dist/uPlot.iife.min.js'],
  'uplot.min.css': ['uplot', 'dist/uPlot.min.css'],
};

// Short enough that an edited stylesheet shows up soon, long enough to spare
// a phone the re-downloads while someone tries several photos.
const CACHE = 'public, max-age=600';

export function assetRoutes(deps: AppDeps): Hono {
  const app = new Hono();

  app.use('/static/*', async (c, next) => {
    await next();
    if (c.res.ok) c.header('Cache-Control', CACHE);
  });
  app.get('/static/*', serveStatic({ root: STATIC_DIR, rewriteRequestPath: (p) => p.replace(/^\/static/, '') }));

  for (const [name, [pkg, file]] of Object.entries(VENDOR)) {
    const full = packageFile(pkg, file);
    if (!full) {
      deps.log(`assets: ${pkg} is not installed; /vendor/${name} will 404`);
      continue;
    }
    app.get(
      `/vendor/${name}`,
      async (c, next) => {
        await next();
        if (c.res.ok) c.header('Cache-Control', CACHE);
      },
      serveStatic({ path: full }),
    );
  }

  app.get('/examples/:file', async (c) => {
    const id = c.req.param('file').replace(/\.jpg$/, '');
    if (!deps.examples.get(id)) return c.notFound();
    const jpeg = await deps.examples.thumbnail(id);
    return c.body(jpeg as Uint8Array<ArrayBuffer>, 200, { 'Content-Type': 'image/jpeg', 'Cache-Control': 'public, max-age=86400' });
  });

  return app;
}
