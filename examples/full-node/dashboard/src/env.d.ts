/** Style sheets imported for their side effect: vite bundles them into the build's CSS file. */
declare module '*.css' {}
