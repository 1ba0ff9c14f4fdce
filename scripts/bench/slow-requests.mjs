// A deliberately slow gateway for the regression gate's own proof
// (`npm run bench -- --check --slow-gateway-us 200`): preloaded with
// --import, it spins BENCH_SLOW_US microseconds of CPU before every HTTP
// request the process serves. Never part of an image.
import http from "node:http";

const busyUs = Number(process.env.BENCH_SLOW_US ?? 0);
const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (event, ...args) {
  if (event === "request" && busyUs > 0) {
    const until = performance.now() + busyUs / 1000;
    while (performance.now() < until);
  }
  return emit.call(this, event, ...args);
};
