import type { NextConfig } from "next";

// Static export: sdmd serves `out/` on the same origin as the API (SDMD_UI_DIR).
// `trailingSlash` makes every page a `dir/index.html`, which any static file server resolves.
const nextConfig: NextConfig = {
  output: "export",
  trailingSlash: true,
  images: { unoptimized: true },
  reactStrictMode: true,
  poweredByHeader: false,
};

export default nextConfig;
