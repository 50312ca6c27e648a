# slow-once.sh: the prologue of .ci/slurm.sh's sweep. The first attempt at
# run-0006 gets a game of a million rounds, so that CI can kill its array task
# while the game is really being played; every other attempt plays as written.
# Each attempt is counted in attempts.txt (prologues start in the directory
# the sweep was submitted from).
echo "$PARLEY_RUN_ID" >> attempts.txt
if [ "$PARLEY_RUN_ID" = run-0006 ] && mkdir slowed 2>/dev/null; then
    echo "simulation.rounds=1000000" >> "$PARLEY_PROLOGUE_OUT"
fi
