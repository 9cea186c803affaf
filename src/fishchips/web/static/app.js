// fishchips web: draws the live shop from the server's snapshots (server-sent events) and sends the controls.
// Plain JS and SVG, no build step, nothing from outside: it works offline in a classroom.
"use strict";

const PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#0072B2", "#D55E00", "#F0E442", "#999999"];
const TOKEN = new URLSearchParams(location.search).get("token");
const $ = (id) => document.getElementById(id);
const seenChips = new Set();
let state = null;
let controlsDrawn = "";
let kafkaDrawn = "";
let scenarioShown = "";

function esc(value) {
  return String(value).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// a preparer keeps its colour for life (preparer-3 is always the third colour): a rebalance shows as lanes changing colour
function colourOf(name) {
  const number = parseInt(String(name).split("-").pop(), 10);
  return Number.isNaN(number) ? "#999999" : PALETTE[(number - 1) % PALETTE.length];
}

// order numbers grow: a chip keeps its width, its number gets smaller
function digitsStyle(number) {
  const digits = String(number).length;
  return digits <= 3 ? "" : `style="font-size:${digits === 4 ? 9 : 7.5}px"`;
}

// Kafka's group states, said short enough for the group's box
function said(state) {
  return state.includes("rebalanc") ? "rebalancing" : state;
}

function text(x, y, content, cls = "", extra = "") {
  return `<text x="${x}" y="${y}" class="${cls}" ${extra}>${esc(content)}</text>`;
}

function box(x, y, w, h, cls = "box", extra = "") {
  return `<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="8" class="${cls}" ${extra}/>`;
}

function arrow(d, cls = "", extra = "") {
  return `<path d="${d}" class="arrow ${cls}" ${extra}/>`;
}

const DEFS = `<defs>
  <marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#14213d"/></marker>
  <marker id="head-cook" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#c45a00"/></marker>
</defs>`;

function kafkaGroup(s, name) {
  return (s.kafka && s.kafka.groups && s.kafka.groups[name]) || null;
}

function endOffsets(s, topic) {
  return (s.kafka && s.kafka.end_offsets && s.kafka.end_offsets[topic]) || {};
}

function drawTills(s) {
  const tills = Object.entries(s.tills);
  const names = s.members.filter((m) => m.kind === "till").map((m) => m.name);
  for (const name of names) if (!s.tills[name]) tills.push([name, 0]);
  tills.sort((a, b) => parseInt(a[0].split("-")[1], 10) - parseInt(b[0].split("-")[1], 10));
  let out = text(60, 30, "tills", "title", 'text-anchor="middle"') +
    text(60, 46, `producers · acks=${s.acks.setting}`, "label", `text-anchor="middle" ${s.acks.setting === "all" ? "" : 'style="fill:#b3261e;font-weight:700"'}`);
  const step = Math.min(56, 270 / Math.max(tills.length, 1));
  tills.forEach(([name, took], i) => {
    const y = 58 + i * step;
    const h = Math.min(46, step - 6);
    // a till that waits for Kafka is drawn red, and says why on hover (and in the notices)
    const why = s.waiting[name];
    out += `<g class="till${why ? " waiting" : ""}" data-name="${esc(name)}">` + (why ? `<title>${esc(`${name} waits ${why}`)}</title>` : "") +
      box(10, y, 100, h, "box", why ? 'style="stroke:#b3261e;stroke-width:3"' : "") + text(20, y + h / 2 - 2, name, "title") +
      text(20, y + h / 2 + 14, why ? "waiting for acks" : `took ${took}`, "label", why ? 'style="fill:#b3261e;font-weight:700"' : "") + "</g>";
    out += arrow(`M110 ${y + h / 2} H148`);
  });
  return out;
}

function drawOrders(s) {
  const partitions = Math.max(s.partitions, 1);
  const ends = endOffsets(s, "orders");
  const prep = kafkaGroup(s, "preparers");
  const lateReaders = Object.entries(s.late);
  let out = box(150, 10, 390, 320, "topic") + text(162, 32, "orders", "title") +
    text(230, 32, `topic · ${partitions} partition${partitions === 1 ? "" : "s"}`, "label") +
    '<rect x="350" y="22" width="12" height="12" rx="2" fill="#fff" stroke="#14213d"/>' + text(365, 32, "waiting", "label") +
    '<rect x="414" y="22" width="12" height="12" rx="2" fill="#e3e7ee" stroke="#9aa5b5"/>' + text(429, 32, "done", "label") +
    '<rect x="466" y="22" width="12" height="12" rx="2" fill="#ffd8a8" stroke="#c45a00"/>' + text(481, 32, "cooked", "label");
  const top = 42;
  const laneH = Math.min(90, (280 - (partitions - 1) * 6) / partitions);
  const fit = Math.floor((462 - 194) / 31);
  for (let p = 0; p < partitions; p++) {
    const y = top + p * (laneH + 6);
    const owner = s.owners[String(p)] || "";
    const colour = owner ? colourOf(owner) : "#c9ced8";
    const lag = prep && prep.lag ? prep.lag[`orders:${p}`] : undefined;
    out += `<g class="lane" data-partition="${p}" data-owner="${esc(owner)}" data-colour="${colour}">`;
    out += `<rect x="158" y="${y}" width="374" height="${laneH}" rx="5" class="lane-bg" fill="${colour}" fill-opacity="0.22" stroke="${colour}" stroke-width="2"/>`;
    out += `<rect x="158" y="${y}" width="30" height="${laneH}" rx="5" fill="${colour}"/>`;
    out += text(173, y + laneH / 2 + 5, `p${p}`, "title", 'text-anchor="middle" style="fill:#fff"');
    const chips = (s.lanes[String(p)] || []).slice(-fit);
    const chipH = Math.min(34, laneH - (lateReaders.length ? 16 : 8));
    const chipY = y + 4;
    chips.forEach((chip, i) => {
      const x = 194 + i * 31;
      const id = `${p}:${chip.offset}`;
      const fresh = !seenChips.has(id);
      seenChips.add(id);
      const fill = chip.ready ? "#ffd8a8" : chip.by === "hand" ? "#fff3b0" : "#ffffff";
      const tip = `order ${chip.order} from ${chip.by === "hand" ? "the counter (by hand)" : chip.by === "cook" ? "the cook (ready)" : `till ${chip.till}`} at offset ${chip.offset}`;
      const done = chip.done === "served" ? " served" : chip.done === "to-cook" ? " to-cook" : "";
      out += `<g class="chip${done}${chip.ready ? " ready" : ""}${fresh ? " pop" : ""}"><title>${esc(tip)}</title>` +
        `<rect x="${x}" y="${chipY}" width="28" height="${chipH}" rx="4" fill="${fill}"/>` +
        text(x + 14, chipY + chipH / 2 + 4, chip.order, "", digitsStyle(chip.order)) + "</g>";
    });
    const end = ends[String(p)];
    out += text(470, y + 16, `end ${end ?? "–"}`, "label", 'data-end="' + (end ?? "") + '"');
    const lagCls = lag > 10 ? "lag-high" : "";
    out += text(470, y + 32, `lag ${lag ?? "–"}`, `label ${lagCls}`, `data-lag="${lag ?? ""}" style="${lag > 10 ? "fill:#b3261e;font-weight:700" : ""}"`);
    lateReaders.forEach(([name, read], i) => {
      const pos = read[String(p)] || 0;
      const fraction = end ? Math.min(1, pos / end) : 0;
      const ty = y + laneH - 7 - i * 6;
      out += `<g class="late" data-reader="${esc(name)}" data-position="${pos}"><rect x="194" y="${ty}" width="270" height="4" class="late-track"/>` +
        `<rect x="194" y="${ty}" width="${270 * fraction}" height="4" class="late-read"/>` +
        `<circle cx="${194 + 270 * fraction}" cy="${ty + 2}" r="4" class="late-read"/></g>`;
    });
    out += "</g>";
  }
  if (lateReaders.length) {
    const [name, read] = lateReaders[lateReaders.length - 1];
    const total = Object.values(read).reduce((a, b) => a + b, 0);
    out += text(300, 348, `${name} (late consumer) has read ${total} from offset 0`, "label", 'style="fill:#6a4c93;font-weight:700"');
  }
  return out;
}

function laneY(s, p) {
  const partitions = Math.max(s.partitions, 1);
  const laneH = Math.min(90, (280 - (partitions - 1) * 6) / partitions);
  return 42 + p * (laneH + 6) + laneH / 2;
}

function drawPreparers(s) {
  const members = s.members.filter((m) => m.kind === "preparer" && m.running);
  const group = kafkaGroup(s, "preparers");
  let out = box(580, 10, 150, 320) + text(592, 32, "preparers", "title") + text(592, 48, `consumer group${group ? " · " + said(group.state) : ""}`, "label");
  const step = Math.min(48, 260 / Math.max(members.length, 1));
  const rows = {};
  members.forEach((m, i) => {
    const y = 60 + i * step;
    rows[m.name] = y + step / 2 - 3;
    const held = m.assignment.length ? m.assignment.map((p) => `p${p}`).join(" ") : "no partition";
    out += `<g class="member" data-name="${esc(m.name)}" data-partitions="${m.assignment.join(",")}" data-colour="${colourOf(m.name)}">` +
      `<rect x="588" y="${y}" width="134" height="${step - 6}" rx="6" fill="${colourOf(m.name)}" fill-opacity="0.85"/>` +
      text(596, y + 17, m.name, "title", 'style="font-size:13px"') + text(596, y + Math.min(33, step - 10), held, "", 'style="font-size:12px"') + "</g>";
  });
  out += text(592, 322, `rebalances: ${s.rebalances}`, "label", 'id="rebalance-count"');
  for (const [p, owner] of Object.entries(s.owners)) {
    if (rows[owner] === undefined) continue;
    out += `<path d="M540 ${laneY(s, Number(p))} C560 ${laneY(s, Number(p))} 566 ${rows[owner]} 586 ${rows[owner]}" stroke="${colourOf(owner)}" stroke-width="3" fill="none"/>`;
  }
  return out;
}

function drawServed(s) {
  const ends = endOffsets(s, "served");
  const total = Object.values(ends).reduce((a, b) => a + b, 0);
  let out = arrow("M730 60 H768") + box(770, 10, 120, 100, "topic") + text(780, 32, "served", "title") + text(780, 48, "topic", "label");
  Object.entries(ends).slice(0, 3).forEach(([p, end], i) => { out += text(780, 66 + i * 14, `p${p} end ${end}`, "label"); });
  if (Object.keys(ends).length > 3) out += text(780, 106, `… ${total} in all`, "label");
  out += arrow("M830 110 V138");
  const called = s.counts.called || 0;
  out += box(770, 140, 120, 190) + text(780, 162, "board", "title") + text(780, 178, "reads served", "label");
  out += `<text x="780" y="202"><tspan class="big" id="served-count">${called}</tspan><tspan class="label"> served</tspan></text>`;
  s.board.slice(0, 7).forEach((b, i) => { out += text(780, 222 + i * 15, `${b.order}, please!`, "", `style="font-size:12px;${i ? "" : "font-weight:700"}"`); });
  return out;
}

function drawCook(s) {
  const has = s.scenario.cooks > 0;
  const dim = has ? "" : "dim";
  const cook = s.members.find((m) => m.kind === "cook" && m.running);
  const ends = endOffsets(s, "cook");
  const group = kafkaGroup(s, "cooks");
  const lag = group ? group.total_lag : "–";
  let out = `<g class="cook-loop ${dim}">`;
  out += arrow("M586 330 V448 H545", `cook ${dim}`) + text(580, 400, "plaice", "label", 'text-anchor="end" style="fill:#c45a00"');
  out += box(370, 420, 170, 60, "topic") + text(380, 442, "cook", "title") + text(380, 458, `topic · end ${ends["0"] ?? "–"}`, "label") +
    text(380, 473, `lag ${lag}`, "label", 'id="cook-lag"');
  out += arrow("M370 450 H297", `cook ${dim}`);
  const paused = cook && cook.paused;
  out += box(160, 420, 135, 60, "box", paused ? 'style="stroke:#b3261e;stroke-width:3"' : "") +
    text(170, 442, cook ? cook.name : "cook", "title") + text(170, 460, paused ? "PAUSED" : `cooked ${s.counts.cooked || 0}`, "label", paused ? 'style="fill:#b3261e;font-weight:700"' : "");
  out += arrow("M228 420 V334", `cook ${dim}`) + text(234, 372, "ready: back to orders", "label", 'style="fill:#c45a00"');
  if (has) {
    const recent = s.cook_loop.slice(0, 4).map((c) => `${c.kind === "to-cook" ? "to cook" : "cooked"} ${c.order}`).join(" · ");
    out += text(160, 505, recent || "waiting for a plaice order…", "label");
  } else {
    out += text(160, 505, `no cook in ${s.scenario.name}: demo4 has one`, "label");
  }
  return out + "</g>";
}

function drawBooks(s) {
  const a = s.accounts || {};
  let out = arrow("M755 110 V440 H742") + box(600, 360, 140, 170) + text(610, 382, "accountant", "title") + text(610, 398, "own group, on served", "label");
  if (a.error) return out + text(610, 420, "books unavailable", "label");
  out += text(610, 426, a.takings ?? "£0.00", "big", 'id="takings"') + text(610, 444, `${a.orders ?? 0} orders booked`, "label");
  Object.entries(a.items || {}).slice(0, 5).forEach(([item, n], i) => { out += text(610, 462 + i * 14, `${item} ${n}`, "", 'style="font-size:12px"'); });
  return out;
}

function drawDeadLetters(s) {
  const count = s.counts["dead-letter"] || 0;
  let out = box(770, 360, 120, 170, "box", count ? 'style="stroke:#b3261e;stroke-width:2.5"' : "") + text(780, 382, "dead letters", "title") +
    text(780, 398, "set aside", "label") + text(780, 428, String(count), "big", `id="dead-count" ${count ? 'style="fill:#b3261e"' : ""}`);
  s.dead_letters.slice(0, 4).forEach((d, i) => { out += text(780, 448 + i * 16, d.detail.slice(0, 20), "", 'style="font-size:11px"'); });
  return out;
}

function drawDiagram(s) {
  $("diagram").innerHTML = DEFS + drawTills(s) + drawOrders(s) + drawPreparers(s) + drawServed(s) + drawCook(s) + drawBooks(s) + drawDeadLetters(s);
}

function drawKafka(s) {
  const k = s.kafka || {};
  const signature = JSON.stringify(k);
  if (signature === kafkaDrawn) return;  // Kafka's view changes once a second; the shop's events up to ten times
  kafkaDrawn = signature;
  if (k.error) { $("kafka").innerHTML = `<p class="error">${esc(k.error)}</p>`; return; }
  if (!k.end_offsets) { $("kafka").innerHTML = "<p>waiting for the first look…</p>"; return; }
  const all = Object.values(k.end_offsets).flatMap((ps) => Object.values(ps));
  const largest = Math.max(1, ...all);
  let html = "<h4>topics: end offsets</h4><table><tr><th>topic</th><th>p</th><th>end</th><th></th></tr>";
  for (const [topic, ps] of Object.entries(k.end_offsets)) {
    Object.entries(ps).forEach(([p, end], i) => {
      html += `<tr><td>${i ? "" : esc(topic)}</td><td>${p}</td><td>${end}</td><td style="width:90px;text-align:left"><span class="bar" style="width:${Math.round(86 * end / largest)}px"></span></td></tr>`;
    });
  }
  html += "</table>";
  for (const [name, g] of Object.entries(k.groups || {})) {
    const cls = g.total_lag > 10 ? "lag-high" : "lag-ok";
    html += `<h4 data-group="${esc(name)}">group ${esc(name)} <span class="state">${esc(g.state)}</span> · lag <span class="${cls}">${g.total_lag}</span></h4>`;
    html += "<table><tr><th>member</th><th>holds</th><th>committed</th><th>lag</th></tr>";
    for (const m of g.members) {
      const keys = Object.keys(g.committed).filter((key) => m.partitions.includes(Number(key.split(":")[1])));
      const committed = keys.reduce((a, key) => a + g.committed[key], 0);
      const lag = Object.keys(g.lag).filter((key) => m.partitions.includes(Number(key.split(":")[1]))).reduce((a, key) => a + g.lag[key], 0);
      html += `<tr class="kafka-member" data-group="${esc(name)}" data-client="${esc(m.client_id)}" data-partitions="${m.partitions.join(",")}">` +
        `<td><span class="bar" style="width:9px;background:${name === "preparers" ? colourOf(m.client_id) : "#999"}"></span> ${esc(m.client_id)}</td>` +
        `<td>${m.partitions.join(",") || "-"}</td><td>${committed}</td><td>${lag}</td></tr>`;
    }
    if (!g.members.length) html += '<tr><td class="state">no members</td><td></td><td></td><td></td></tr>';
    html += "</table>";
  }
  $("kafka").innerHTML = html;
}

// the preparers' groups side by side (demo6): a consumer group leaves members idle, a share group keeps all busy
function drawGroups(s) {
  let html = "";
  for (const g of s.groups) {
    html += `<h4>${esc(g.kind)} ${esc(g.name)}</h4><table>`;
    for (const [name, served] of Object.entries(g.served)) {
      html += `<tr class="group-member" data-group="${esc(g.name)}" data-name="${esc(name)}" data-served="${served}">` +
        `<td>${esc(name)}</td><td class="${served ? "lag-ok" : "lag-high"}">${served ? `${served} served` : "idle"}</td></tr>`;
    }
    html += "</table>";
  }
  if (s.groups.some((g) => g.kind === "share group")) html += drawLending(s.lending);
  $("groups").innerHTML = html;
}

// the share group's records in flight, in its members' own words (Kafka names no holder): who holds each
// record's lock and its delivery count; then the records lent out again, and how they came back
function drawLending(l) {
  let html = '<h4>records in flight <small>as the share group\'s members say</small></h4><table id="loans">';
  for (const loan of l.held) {
    html += `<tr class="loan" data-record="${loan.partition}@${loan.offset}" data-holder="${esc(loan.holder)}" data-delivery="${loan.delivery}">` +
      `<td>orders p${loan.partition}@${loan.offset}</td><td>${esc(loan.holder)}</td>` +
      `<td class="${loan.delivery > 1 ? "lag-high" : ""}">delivery ${loan.delivery}</td><td class="state">${esc(loan.state)}</td></tr>`;
  }
  if (!l.held.length) html += '<tr><td class="state">none held just now</td></tr>';
  html += '</table><h4>lent again <small>newest first</small></h4><table id="relent">';
  for (const r of l.relent) {
    const now = r.outcome ? `${r.outcome}${r.order === null ? "" : ` order ${r.order}`}` : "holds it";
    html += `<tr class="relent" data-record="${r.partition}@${r.offset}" data-holder="${esc(r.holder)}" data-before="${esc(r.before)}" data-delivery="${r.delivery}" data-back="${esc(r.back)}">` +
      `<td>p${r.partition}@${r.offset}</td><td>delivery ${r.delivery}</td>` +
      `<td>${esc(r.before || "?")} ${esc(r.back)} → ${esc(r.holder)}</td><td class="state">${esc(now)}</td></tr>`;
  }
  if (!l.relent.length) html += '<tr><td class="state">none yet: stop a share preparer (S) to see one</td></tr>';
  return html + "</table>";
}

// the brokers as Kafka sees them, once a second: each up or down, every partition's leader (starred),
// replicas and in-sync replicas (one out of sync greyed), and who coordinates each group and transaction
function drawBrokers(s) {
  const c = s.cluster;
  const served = s.last_served_at ? `last served ${Math.max(0, Math.round(s.now - s.last_served_at))} s ago` : "nothing served yet";
  if (!c.answered) { $("brokers").innerHTML = `<p class="error">${esc(c.problem)}</p>`; return; }
  let html = '<p class="broker-row">' + c.brokers.map((b) =>
    `<span class="broker ${b.up ? "up" : "down"}" data-node="${b.node}" data-up="${b.up}">broker ${b.node} ${b.up ? "up" : "DOWN"}</span>`).join(" ") + "</p>";
  html += `<p class="small" id="replication-counts" data-under="${c.under_replicated}" data-offline="${c.offline}">` +
    `under-replicated <b class="${c.under_replicated ? "lag-high" : "lag-ok"}">${c.under_replicated}</b> · ` +
    `offline <b class="${c.offline ? "lag-high" : "lag-ok"}">${c.offline}</b> · <span class="${s.now - s.last_served_at > 5 ? "lag-high" : ""}">${served}</span></p>`;
  html += "<table><tr><th>partition</th><th>leader</th><th>replicas (* leader, grey: out of sync)</th><th>ISR</th></tr>";
  for (const p of c.partitions) {
    const replicas = p.replicas.map((n) => n === p.leader ? `<b class="leader">${n}*</b>` :
      `<span class="${p.out_of_sync.includes(n) ? "out-of-sync" : ""}">${n}</span>`).join(" ");
    html += `<tr class="replica-row" data-topic="${esc(p.topic)}" data-partition="${p.partition}" data-leader="${p.leader ?? ""}" data-isr="${p.in_sync.join(",")}">` +
      `<td>${esc(short(p.topic))}/${p.partition}</td><td>${p.leader ?? '<b class="lag-high">none</b>'}</td><td>${replicas}</td><td>${p.in_sync.join(",")}</td></tr>`;
  }
  html += "</table>";
  html += `<p class="small ${s.acks.setting === "all" ? "" : "lag-high"}" id="acks" data-acks="${esc(s.acks.setting)}">tills: ${esc(s.acks.said)}</p>`;
  html += c.coordinators.map((k) => `<p class="small">${esc(k.kind)} ${esc(short(k.name))}: coordinator ${k.node ?? `none (${esc(k.problem)})`}</p>`).join("");
  if (!c.node_controls.available) html += `<p class="small state" id="no-broker-controls">no broker controls: ${esc(c.node_controls.reason)}</p>`;
  $("brokers").innerHTML = html;
}

function short(name) {
  return name.split(".").pop();
}

// demo5's hot cabinet, read from Redis once a second: what is in stock, cooked and served, item by item
function drawCabinet(s) {
  const c = s.cabinet;
  $("cabinet-card").hidden = !c;
  if (!c) return;
  if (c.error) { $("cabinet").innerHTML = `<p class="error">${esc(c.error)}</p>`; return; }
  const largest = Math.max(1, ...Object.values(c.stock));
  let html = "<table><tr><th>item</th><th>in stock</th><th></th><th>cooked</th><th>served</th></tr>";
  for (const [item, n] of Object.entries(c.stock)) {
    html += `<tr class="cabinet-item" data-item="${esc(item)}" data-stock="${n}" data-cooked="${c.cooked[item] ?? 0}"><td>${esc(item)}</td><td>${n}</td>` +
      `<td style="width:90px;text-align:left"><span class="bar" style="width:${Math.round(86 * n / largest)}px"></span></td>` +
      `<td>${c.cooked[item] ?? 0}</td><td>${c.served[item] ?? 0}</td></tr>`;
  }
  html += "</table>";
  const balance = c.balanced ? '<span class="lag-ok">stock = cooked - served</span>' : '<span class="lag-high">stock ≠ cooked - served</span>';
  html += `<p class="small">${c.cooked_batches} batches cooked · ${c.trips_to_cook} trips to the cook · ${balance}</p>`;
  $("cabinet").innerHTML = html;
}

function drawControls(s) {
  const signature = s.controls.map((c) => c.name).join();
  if (signature === controlsDrawn) return;
  controlsDrawn = signature;
  const keyed = (c) => (s.lesson && LESSON_KEYS[c.key] ? "" : `<kbd>${esc(c.key)}</kbd>`);  // the lesson's n and b are not theirs
  $("controls").innerHTML = s.controls.map((c) =>
    `<button type="button" data-control="${esc(c.name)}" title="${esc(c.idea)}">${keyed(c)}${esc(c.label)}</button>`).join("");
  const select = $("scenario-select");
  select.innerHTML = Object.entries(s.scenarios).map(([name, title]) => `<option value="${esc(name)}">${esc(name)}: ${esc(title)}</option>`).join("");
}

// the floor's own count: every order taken is served once, and none stays in flight once the shop catches up
function drawSummary(summary) {
  const pill = $("summary");
  if (!summary) { pill.textContent = "…"; return; }
  const hand = summary.by_hand.taken ? ` (by hand ${summary.by_hand.taken}, served ${summary.by_hand.served})` : "";
  pill.dataset.twice = summary.twice;
  pill.textContent = `taken ${summary.taken}${hand} · served ${summary.served} · twice ${summary.twice} · in flight ${summary.in_flight}`;
  pill.classList.toggle("bad", summary.twice > 0);
}

function drawText(s) {
  $("scenario-name").textContent = s.scenario.name;
  $("scenario-title").textContent = s.scenario.title;
  $("lesson").textContent = s.scenario.lesson;
  $("speed").textContent = `x${s.speed}`;
  drawSummary(s.summary);
  $("status").textContent = s.status;
  $("status").classList.toggle("open", s.status === "open");
  $("error").hidden = !s.error;
  $("error").textContent = s.error ? `✗ ${s.error}` : "";
  $("rebalance").hidden = !(s.rebalanced_at && s.now - s.rebalanced_at < 8);
  // the list follows the shop only when the shop changes: a choice being made survives the next snapshots
  if (s.scenario.name !== scenarioShown) {
    scenarioShown = s.scenario.name;
    $("scenario-select").value = s.scenario.name;
  }
  // each till that waits for Kafka says why, in one sentence, under the diagram
  $("waits").innerHTML = Object.entries(s.waiting).filter(([name]) => name.startsWith("till-")).map(([name, why]) =>
    `<p class="till-waiting" data-till="${esc(name)}"><b>${esc(name)}</b> waits ${esc(why)}</p>`).join("");
  $("notices").innerHTML = s.notices.map((n) =>
    `<li class="${n.error ? "error" : ""}">${new Date(n.at * 1000).toLocaleTimeString()} ${esc(n.text)}</li>`).join("");
  $("keys").innerHTML = Object.entries(s.keys).map(([key, k]) =>
    `<tr><td>key <b class="key" title="${esc(key)}">${esc(key)}</b></td><td>${k.orders} order${k.orders === 1 ? "" : "s"}</td><td>partition ${k.partitions.join(", ")}${k.partitions.length === 1 && k.orders > 1 ? " every time" : ""}</td></tr>`).join("");
}

// the lesson the page follows: every tab shows the server's one step, so a classroom follows the teacher's
const MARKS = { passed: "✓", failed: "✗", checking: "…", waiting: "" };
const LESSON_KEYS = { n: +1, b: -1 };  // while a lesson is followed, n and b move its steps

function actionLabel(s, step) {
  const control = s.controls.find((c) => c.name === step.action);
  if (control) return control.label;
  return step.action === "take_order" ? `Take order "${step.key}"` : step.action.replace(/_/g, " ");
}

function verdictOf(s, step) {
  if (step.mark === "passed") return `✓ Kafka agrees${step.said ? `: ${step.said}` : ""}`;
  if (step.mark === "failed") return `✗ not within its time: ${step.hint} (Kafka says: ${step.said})`;
  if (step.mark === "checking") return `asking Kafka… ${step.said}`;
  if (step.mark === "waiting") return `press “${actionLabel(s, step)}”: here, or the page's own control`;
  return "looking at Kafka…";
}

function drawLesson(s) {
  const l = s.lesson;
  $("lesson-panel").hidden = !l;
  if (!l) return;
  const step = l.steps[l.step - 1];
  document.body.className = `watch-${step.watch}`;
  $("lesson-title").textContent = `Lesson ${l.name.split("-")[0]}: ${l.title}`;
  $("lesson-links").textContent = `the code: ${l.example} · read next: ${l.docs}`;
  $("lesson-steps").innerHTML = l.steps.map((st, i) =>
    `<li class="lesson-step${i + 1 === l.step ? " now" : ""}" data-step="${i + 1}" data-mark="${esc(st.mark)}" title="${esc(st.text)}">` +
    `${i + 1} ${MARKS[st.mark] ?? ""}</li>`).join("");
  $("lesson-text").textContent = `Step ${l.step} of ${l.steps.length}. ${step.text}`;
  $("lesson-watch").textContent = `watch: ${step.watch.replace(/_/g, " ")}`;
  $("lesson-action").hidden = !step.action;
  if (step.action) $("lesson-action").textContent = actionLabel(s, step);
  $("lesson-verdict").textContent = verdictOf(s, step);
  $("lesson-verdict").className = `lesson-verdict ${step.mark}`;
  $("lesson-back").disabled = l.step === 1;
  $("lesson-next").disabled = l.step === l.steps.length;
}

function draw(s) {
  state = s;
  drawLesson(s);
  drawControls(s);
  drawText(s);
  drawDiagram(s);
  drawKafka(s);
  drawGroups(s);
  drawBrokers(s);
  drawCabinet(s);
}

function toast(message, ok = false) {
  const t = $("toast");
  t.textContent = message;
  t.classList.toggle("ok", ok);
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 3500);
}

async function post(path, body = {}) {
  const headers = { "Content-Type": "application/json" };
  if (TOKEN) headers["X-Fishchips-Token"] = TOKEN;
  const response = await fetch(path, { method: "POST", headers, body: JSON.stringify(body) });
  const answer = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(answer.error || `HTTP ${response.status}`);
  return answer;
}

async function press(name) {
  const control = state && state.controls.find((c) => c.name === name);
  if (control) $("idea").innerHTML = `<kbd>${esc(control.key)}</kbd><b>${esc(control.label)}</b>: ${esc(control.idea)}`;
  const button = document.querySelector(`[data-control="${name}"]`);
  if (button) button.classList.add("busy");
  try {
    const answer = await post(`/api/control/${name}`);
    toast(answer.done, true);
  } catch (error) {
    toast(error.message);
  } finally {
    if (button) button.classList.remove("busy");
  }
}

$("controls").addEventListener("click", (event) => {
  const button = event.target.closest("[data-control]");
  if (button) press(button.dataset.control);
});
$("controls").addEventListener("mouseover", (event) => {
  const button = event.target.closest("[data-control]");
  const control = button && state && state.controls.find((c) => c.name === button.dataset.control);
  if (control) $("idea").innerHTML = `<kbd>${esc(control.key)}</kbd><b>${esc(control.label)}</b>: ${esc(control.idea)}`;
});

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || ["INPUT", "SELECT", "TEXTAREA"].includes(event.target.tagName)) return;
  const lesson = state && state.lesson;
  if (lesson && LESSON_KEYS[event.key]) {  // a followed lesson's steps: the page's own n and b stay on their buttons
    event.preventDefault();
    const step = lesson.step + LESSON_KEYS[event.key];
    if (step >= 1 && step <= lesson.steps.length) sendAndSay("/api/lesson/step", { step });
    return;
  }
  const control = state && state.controls.find((c) => c.key === event.key);
  if (control) { event.preventDefault(); press(control.name); }
});

$("order-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = $("order-key").value;
  try {
    const a = await post("/api/order", { key });
    const always = a.partitions_for_key.length === 1 ? `every order with key "${a.key}" so far landed there` : `key "${a.key}" landed in ${a.partitions_for_key.join(", ")}`;
    $("order-result").textContent = `order ${a.order}: key "${a.key}" → partition ${a.partition}, offset ${a.offset}; ${always}`;
    $("order-result").dataset.partition = a.partition;
    $("order-result").dataset.order = a.order;
  } catch (error) {
    $("order-result").textContent = `✗ ${error.message}`;
  }
});

$("rewind-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const group = $("rewind-group").value;
  const byTime = document.querySelector('input[name="to"]:checked').value === "time";
  if (byTime && !$("rewind-time").value) { $("rewind-result").textContent = "✗ choose a time"; return; }
  const to = byTime ? new Date($("rewind-time").value).toISOString() : "beginning";
  $("rewind-result").textContent = `stopping the ${group}, moving the offsets, starting them again…`;
  try {
    const a = await post("/api/rewind", { group, to });
    const offsets = Object.entries(a.offsets).map(([p, o]) => `p${p}@${o}`).join(", ");
    $("rewind-result").textContent = `${group} rewound to ${a.to}: committed offsets now ${offsets}; ${a.restarted} member(s) started again`;
  } catch (error) {
    $("rewind-result").textContent = `✗ ${error.message}`;
  }
});

// a request whose answer (or refusal) is said in the toast
async function sendAndSay(path, body = {}) {
  try {
    toast((await post(path, body)).done, true);
  } catch (error) {
    toast(error.message);
  }
}
$("lesson-action").addEventListener("click", () => sendAndSay("/api/lesson/action"));
$("lesson-back").addEventListener("click", () => sendAndSay("/api/lesson/step", { step: state.lesson.step - 1 }));
$("lesson-retry").addEventListener("click", () => sendAndSay("/api/lesson/step", { step: state.lesson.step }));
$("lesson-next").addEventListener("click", () => sendAndSay("/api/lesson/step", { step: state.lesson.step + 1 }));

$("scenario-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sendAndSay("/api/scenario", { name: $("scenario-select").value });
});

// snapshots that arrive between two frames are drawn once, the latest only; a hidden tab draws nothing until it is shown
let latest = null;
function drawLatest() {
  const data = latest;
  latest = null;
  if (data !== null) draw(JSON.parse(data));
}

function connect() {
  const source = new EventSource("/api/events");
  source.onmessage = (event) => {
    if (latest === null) requestAnimationFrame(drawLatest);
    latest = event.data;
  };
  source.onerror = () => { $("status").textContent = "reconnecting…"; $("status").classList.remove("open"); };
}
connect();
