#!/usr/bin/env python3
"""A long fuzz campaign in CPU time: every target of scripts/fuzz.sh until each has used --minutes
of CPU in all (counted in a state file, so a campaign can stop and resume across days).

    scripts/fuzz.sh all 1                     # build the targets and make the seeds first
    scripts/fuzz_campaign.py --minutes 60 [--lanes 2] [--slice 10] [--state FILE]

Targets run niced, one per lane (a lane is a core), round-robin in slices of --slice CPU minutes,
the target furthest from its goal first. A slice ends with SIGINT once the fuzzer process has used
its CPU time (read from /proc/PID/stat), so time the machine spends on other work does not count.
To pause (for a benchmark, say), create the file PAUSE beside the state file: running slices end
and none starts until it is removed. Never SIGSTOP a fuzzer: libFuzzer's per-input -timeout runs on
wall time, so every input that was running when stopped is reported as a hang.
A crash, hang, leak or OOM ends that slice with libFuzzer's non-zero code; the campaign prints it,
keeps the input under $FUZZ_WORK/artifacts/<target>/ and goes on with the other targets.
Logs: $FUZZ_WORK/logs/campaign-<target>-<time>.log."""
import argparse, json, os, signal, subprocess, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS = ['fuzz_gguf', 'fuzz_safetensors', 'fuzz_hf_config', 'fuzz_tokenizer_json', 'fuzz_tokenize', 'fuzz_jinja',
           'fuzz_request']
MAX_LEN = dict(fuzz_gguf=32768, fuzz_safetensors=16384, fuzz_tokenizer_json=65536, fuzz_jinja=16384)
DICT = dict(fuzz_gguf='gguf.dict', fuzz_jinja='jinja.dict', fuzz_safetensors='json.dict', fuzz_hf_config='json.dict',
            fuzz_tokenizer_json='json.dict', fuzz_request='json.dict')


def cpu_seconds(pid):
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


class Campaign:
    def __init__(self, args):
        self.build = os.environ.get('FUZZ_BUILD', os.path.join(ROOT, 'build/fuzz'))
        self.work = os.environ.get('FUZZ_WORK', os.path.join(self.build, 'work'))
        self.state_path = args.state or os.path.join(self.work, 'campaign.json')
        self.pause_path = os.path.join(os.path.dirname(self.state_path), 'PAUSE')
        self.goal = args.minutes * 60
        self.slice = args.slice * 60
        self.lock = threading.Lock()
        self.running = set()
        self.state = {t: 0.0 for t in TARGETS}
        if os.path.exists(self.state_path):
            self.state.update(json.load(open(self.state_path)))

    def save(self):
        tmp = self.state_path + '.tmp'
        json.dump(self.state, open(tmp, 'w'), indent=1)
        os.replace(tmp, self.state_path)

    def command(self, t):
        args = [f'{self.build}/fuzz/{t}', '-max_total_time=1000000', f'-timeout={90 if t == "fuzz_jinja" else 10}',
                '-rss_limit_mb=2048', f'-max_len={MAX_LEN.get(t, 8192)}', '-print_final_stats=1',
                f'-artifact_prefix={self.work}/artifacts/{t}/']
        if t in DICT:
            args.append(f'-dict={ROOT}/fuzz/dicts/{DICT[t]}')
        args += [f'{self.work}/corpus/{t}', f'{self.work}/seeds/{t}']
        if os.path.isdir(f'{ROOT}/fuzz/regressions/{t}'):
            args.append(f'{ROOT}/fuzz/regressions/{t}')
        return ['nice', '-n', '19'] + args

    def run_slice(self, t, budget):
        for d in ('artifacts', 'corpus', 'logs'):
            os.makedirs(f'{self.work}/{d}/{t}' if d != 'logs' else f'{self.work}/logs', exist_ok=True)
        env = dict(os.environ, ASAN_OPTIONS='detect_leaks=1:allocator_may_return_null=1',
                   UBSAN_OPTIONS='print_stacktrace=1:halt_on_error=1')
        env.setdefault('KAIYUAN_FIXTURES', os.path.join(os.path.dirname(ROOT), 'shared/fixtures'))
        log_path = f'{self.work}/logs/campaign-{t}-{time.strftime("%Y%m%d-%H%M%S")}.log'
        with open(log_path, 'w') as log:
            p = subprocess.Popen(self.command(t), stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
            used = 0.0
            while p.poll() is None:
                time.sleep(5)
                try:
                    used = cpu_seconds(p.pid)
                except OSError:
                    pass
                if used >= budget or os.path.exists(self.pause_path):
                    p.send_signal(signal.SIGINT)
                    p.wait()
        with self.lock:
            self.state[t] += used
            self.save()
            total = self.state[t]
        print(f'{time.strftime("%H:%M:%S")} {t}: slice {used:.0f} s CPU, {total / 60:.1f} min in all, '
              f'exit {p.returncode} ({log_path})', flush=True)
        if p.returncode not in (0, 72, -signal.SIGINT):  # 72: libFuzzer interrupted by SIGINT
            print(f'{t}: FINDING (exit {p.returncode}): see {log_path} and {self.work}/artifacts/{t}/', flush=True)

    def lane(self):
        while True:
            while os.path.exists(self.pause_path):
                time.sleep(2)
            with self.lock:
                todo = [t for t in TARGETS if t not in self.running and self.state[t] < self.goal - 5]
                if not todo:
                    return
                t = min(todo, key=lambda x: self.state[x])
                self.running.add(t)
                budget = min(self.slice, self.goal - self.state[t])
            try:
                self.run_slice(t, budget)
            finally:
                with self.lock:
                    self.running.discard(t)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--minutes', type=float, default=60, help='CPU minutes per target, all runs together')
    ap.add_argument('--lanes', type=int, default=2, help='fuzzers at a time (one per core)')
    ap.add_argument('--slice', type=float, default=10, help='CPU minutes of one run')
    ap.add_argument('--state', help='state file (default $FUZZ_WORK/campaign.json)')
    args = ap.parse_args()
    c = Campaign(args)
    lanes = [threading.Thread(target=c.lane) for _ in range(args.lanes)]
    for th in lanes:
        th.start()
    for th in lanes:
        th.join()
    print('campaign done:', ', '.join(f'{t} {c.state[t] / 60:.1f} min' for t in TARGETS), flush=True)


if __name__ == '__main__':
    main()
