// Types of scripts/build.mjs, for its TypeScript callers (bench/cli.ts).
export declare const STAMP: string;
export declare const SOURCE_DIRS: string[];
export declare function newestSource(root?: string): number;
export declare function distIsStale(root?: string): boolean;
export declare function build(opts?: { onlyIfStale?: boolean; quiet?: boolean; prepare?: boolean }): number;
