/**
 * A one-line progress bar on stderr (redrawn in place on a terminal, one line per
 * step otherwise), so a long benchmark says where it is.
 */
export function progressBar(label: string, total: number) {
  const tty = process.stderr.isTTY;
  let last = -1;
  const draw = (done: number) => {
    const width = 24;
    const filled = Math.round((done / total) * width);
    const line = `${label.padEnd(34)} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}`;
    if (tty) process.stderr.write(`\r${line}`);
    else if (Math.floor((done / total) * 4) !== last || done === total) process.stderr.write(`${line}\n`);
    last = Math.floor((done / total) * 4);
  };
  draw(0);
  return {
    tick(done: number) {
      draw(done);
    },
    done() {
      draw(total);
      if (tty) process.stderr.write('\n');
    },
  };
}
