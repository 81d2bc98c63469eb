// The one free-port helper lives with the dev platform, which needs it at run time.
export { freeLoopbackPort } from '../../src/dev/net.ts';
