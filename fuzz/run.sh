#!/usr/bin/env bash
# Coverage-guided fuzzing of numasim's inputs with AFL++ (Debian's afl++) and SharpFuzz's instrumentation.
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     default: 30 s each, all targets
# Builds fuzz/Numasim.Fuzz (Release), instruments Numasim.dll and YamlDotNet.dll with `sharpfuzz`, seeds each
# target's corpus from the project's own files and ../shared/data (read in place, written only under the work
# folder), runs afl-fuzz, replays every crash and hang found, and prints one line per target:
#   fuzz TARGET: EXECS execs, COVERAGE% map, N crashes, N hangs
# Ends with "N passed, N failed" (a target passes with 0 crashes and 0 hangs). Work folder: $NUMASIM_FUZZ_DIR or
# ~/.cache/numasim/fuzz (kept: findings stay for a look; the corpora are rebuilt each run).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
secs="${1:-30}"; shift || true
targets=("$@"); [[ ${#targets[@]} -gt 0 ]] || targets=(qemu machine scenario sysfs import)
work="${NUMASIM_FUZZ_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/numasim/fuzz}"
shared="${NUMASIM_SHARED_DATA:-$root/../shared/data}"
[[ -d "$shared" ]] || shared="/work/shared/data"
mkdir -p "$work"

command -v afl-fuzz >/dev/null || { echo "fuzz: afl-fuzz is missing: apt-get install -y --no-install-recommends afl++" >&2; exit 2; }
tools="$work/tools"
t0=$SECONDS
[[ -x "$tools/sharpfuzz" ]] || dotnet tool install --tool-path "$tools" SharpFuzz.CommandLine --version 2.3.0 >/dev/null

bin="$work/bin" plain="$work/plain"
rm -rf "$bin" "$plain"
dotnet build "$root/fuzz/Numasim.Fuzz/Numasim.Fuzz.csproj" -c Release -o "$bin" --nologo -v q >/dev/null
cp -r "$bin" "$plain"  # findings are replayed uninstrumented: the exception as a user would meet it
"$tools/sharpfuzz" "$bin/Numasim.dll" >/dev/null
"$tools/sharpfuzz" "$bin/YamlDotNet.dll" >/dev/null
echo "fuzz: tools, build and instrumentation in $((SECONDS - t0)) s"

seed() { # seed TARGET DIR: the starting corpus, from the project's files and the shared dumps
    local t=$1 d=$2 i=0 f
    rm -rf "$d"; mkdir -p "$d"
    case $t in
    qemu)
        grep -rhoE 'qemu: "[^"]*"' "$root/scenarios" | sed -E 's/^qemu: "(.*)"$/\1/' | sort -u | while IFS= read -r l; do
            i=$((i + 1)); printf '%s' "$l" > "$d/q$i"; done ;;
    machine)
        grep -rhoE 'qemu: "[^"]*"' "$root/scenarios" | sort -u | head -20 | while IFS= read -r l; do
            i=$((i + 1)); printf '%s\n' "$l" > "$d/m$i.yaml"; done
        for f in "$shared"/hwloc-linux/16amd64-8n2c.tar.bz2 "$shared"/util-linux/ts__lscpu__dumps__x86_64-epyc_7451.tar.gz; do
            [[ -f "$f" ]] || continue
            # the uninstrumented copy: an instrumented assembly run outside afl-fuzz is not what a user runs
            timeout 60 dotnet "$plain/Numasim.Cli.dll" import "$f" -o "$d/$(basename "$f").yaml" >/dev/null 2>&1 || true
        done ;;
    scenario)
        for f in "$root"/scenarios/*/*.yaml; do cp "$f" "$d/"; done ;;
    sysfs)
        printf 'memory/memory32/state offline\nmemory/memory32/state online_kernel\n' > "$d/s1"
        printf 'cpu/cpu2/online 1\ncpu/cpu2/online 0\nnode/possible 1\n' > "$d/s2"
        printf 'memory/auto_online_blocks online_movable\nmemory/memory33/online 1\nmemory/memory33/state offline\n' > "$d/s3"
        printf '/sys/kernel/debug/notifier-error-inject/memory/actions/MEM_GOING_OFFLINE/error -12\nmemory/memory32/state offline\n' > "$d/s4"
        printf '/proc/sys/vm/min_free_kbytes 4096\nmemory/soft_offline_page 0x1000\ncpu/cpu1/online off\n' > "$d/s5" ;;
    import)
        for f in "$shared"/hwloc-linux/*.tar.bz2 "$shared"/util-linux/*.tar.gz; do
            [[ -f "$f" ]] || continue
            case $f in *.bz2) bzip2 -dc "$f" ;; *) gzip -dc "$f" ;; esac > "$d/$(basename "${f%.*}")" 2>/dev/null || true
        done
        # afl-fuzz takes seeds up to 1 MB
        find "$d" -type f -size +1000k -delete ;;
    esac
}

# AFL_FAST_CAL: calibrate each seed in fewer runs (calibration is where a loaded machine loses time; stop 26's CI
# ran out of its bound after the first target, cause not reproduced)
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 AFL_FAST_CAL=1
export DOTNET_TieredPGO=0
passed=0 failed=0
for t in "${targets[@]}"; do
    in="$work/in/$t" out="$work/out/$t" t0=$SECONDS
    seed "$t" "$in"
    rm -rf "$out"; mkdir -p "$work/out"
    dict=(); [[ -f "$root/fuzz/dict/$t.dict" ]] && dict=(-x "$root/fuzz/dict/$t.dict")
    # bounded: afl-fuzz's calibration of a slow seed must not eat the other targets' time
    timeout --kill-after=5 $((secs + 120)) afl-fuzz -i "$in" -o "$out" -V "$secs" -t 10000 -m none "${dict[@]}" \
        -- dotnet "$bin/Numasim.Fuzz.dll" fuzz "$t" > "$work/afl-$t.log" 2>&1 && rc=0 || rc=$?
    if [[ $rc == 124 || $rc == 137 ]]; then
        echo "fuzz $t: afl-fuzz did not end within $((secs + 120)) s (see $work/afl-$t.log)"; tail -5 "$work/afl-$t.log" >&2
        failed=$((failed + 1)); continue
    fi
    stats="$out/default/fuzzer_stats"
    if [[ ! -f "$stats" ]]; then
        echo "fuzz $t: afl-fuzz did not start (see $work/afl-$t.log)"; tail -5 "$work/afl-$t.log" >&2
        failed=$((failed + 1)); continue
    fi
    get() { grep -E "^$1 *:" "$stats" | sed -E 's/^[^:]*: *//'; }
    crashes=$(get saved_crashes) hangs=$(get saved_hangs)
    echo "fuzz $t: $(get execs_done) execs in $(get run_time) s, $(get bitmap_cvg) map, $(get corpus_count) paths, $crashes crashes, $hangs hangs ($((SECONDS - t0)) s with seeding and calibration)"
    for f in "$out"/default/crashes/id:* "$out"/default/hangs/id:*; do
        [[ -f "$f" ]] || continue
        echo "  finding: $f"
        timeout 60 dotnet "$plain/Numasim.Fuzz.dll" replay "$t" "$f" 2>&1 | head -5 | sed 's/^/    /' || true
    done
    if [[ "$crashes" == 0 && "$hangs" == 0 ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "$passed passed, $failed failed"
