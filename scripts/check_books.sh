#!/usr/bin/env bash
# The accountant's "done when" check, on the user's own broker and default books:
# a demo, the accountant until it is caught up, then `fishchips report --json` against a count of
# the served topic made independently, with Kafka's own console consumer from the broker's jars.
#     scripts/check_books.sh [ORDERS]    # default 500; 0: no new demo, only the check
# The books hold everything ever served on the topic, earlier runs included; so does the count.
set -euo pipefail
cd "$(dirname "$0")/.."
orders=${1:-500}
fishchips=${FISHCHIPS:-fishchips}
prefix=${PREFIX:-fishchips}
libs=${KAFKA_LIBS:-$HOME/.cache/fishchips/kafka-4.4.0/libs}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$fishchips" broker start
bootstrap=${BOOTSTRAP:-$("$fishchips" broker status | awk '$1 == "bootstrap" {print $2}')}
if [ "$orders" -gt 0 ]; then
    "$fishchips" run demo4 --orders "$orders" --prefix "$prefix" --json >"$work/run.json"
    python3 -c 'import json, sys; print("demo4: taken {taken}, served {served}, ok {ok}".format(**json.load(open(sys.argv[1]))))' "$work/run.json"
fi
"$fishchips" accounts --prefix "$prefix" --from-beginning --until-idle 5 2>"$work/accounts.log"
tail -n 1 "$work/accounts.log"
"$fishchips" report --json >"$work/report.json"
java -cp "$libs/*" org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$bootstrap" --topic "$prefix.served" \
    --from-beginning --timeout-ms 10000 --formatter-property print.partition=true --formatter-property print.offset=true \
    2>"$work/console.log" | python3 scripts/count_served.py >"$work/count.json"
python3 scripts/count_served.py --compare "$work/report.json" "$work/count.json"
