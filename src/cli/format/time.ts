// The CLI's times: the one implementation the dashboard shares (src/time-text.ts).
export { absolute, both, duration, relative } from '../../time-text.js';
