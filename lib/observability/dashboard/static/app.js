// The dashboard page: polls /api/snapshot every second, appends /api/history points to the uPlot
// chart, and redraws the tables. Plain browser JavaScript (no build step, no network beyond this
// server). Test hooks live on window.shardlineDashboard.
(function () {
  'use strict';
  var POLL_MS = 1000;
  var $ = function (id) {
    return document.getElementById(id);
  };
  var state = { plot: null, data: [[], [], []], lastPointT: 0, updates: 0, lastCollectedAt: 0 };
  window.shardlineDashboard = state;

  function bytes(n) {
    if (!isFinite(n) || n < 1000) return Math.max(0, Math.round(n || 0)) + ' B';
    if (n < 1e6) return (n / 1e3).toFixed(1) + ' kB';
    if (n < 1e9) return (n / 1e6).toFixed(1) + ' MB';
    return (n / 1e9).toFixed(2) + ' GB';
  }
  function count(n) {
    return Math.round(n || 0).toLocaleString('en-US');
  }
  function age(ms) {
    return (Math.max(0, ms) / 1000).toFixed(1) + 's';
  }
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'class') e.className = attrs[k];
      else if (k === 'style') e.style.cssText = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) {
      e.appendChild(c);
    });
    return e;
  }
  function replace(parent, children) {
    parent.replaceChildren.apply(parent, children);
  }

  function makePlot() {
    var box = $('chart');
    var opts = {
      width: Math.max(300, box.clientWidth),
      height: 260,
      scales: {
        x: { time: true },
        mb: {
          range: function (u, min, max) {
            return [0, Math.max(1, max * 1.1)];
          },
        },
        rec: {
          range: function (u, min, max) {
            return [0, Math.max(10, max * 1.1)];
          },
        },
      },
      series: [
        {},
        {
          label: 'MB/s',
          scale: 'mb',
          stroke: '#2f6fdb',
          width: 2,
          fill: 'rgba(47,111,219,0.12)',
          value: function (u, v) {
            return v == null ? '–' : v.toFixed(2);
          },
        },
        {
          label: 'records/s',
          scale: 'rec',
          stroke: '#1f9d55',
          width: 1.5,
          dash: [6, 4],
          value: function (u, v) {
            return v == null ? '–' : count(v);
          },
        },
      ],
      axes: [{}, { scale: 'mb', label: 'MB/s', size: 60 }, { scale: 'rec', label: 'records/s', side: 1, size: 70, grid: { show: false } }],
    };
    state.plot = new uPlot(opts, state.data, box);
    window.addEventListener('resize', function () {
      state.plot.setSize({ width: Math.max(300, box.clientWidth), height: 260 });
    });
  }

  function appendPoints(points) {
    points.forEach(function (p) {
      if (p.t <= state.lastPointT) return;
      state.lastPointT = p.t;
      state.data[0].push(p.t / 1000);
      state.data[1].push(p.bytesPerSec / 1e6);
      state.data[2].push(p.recordsPerSec);
    });
    if (points.length) state.plot.setData(state.data);
  }

  function renderHeader(s, error) {
    $('target').textContent = s.label;
    var updated = $('last-updated');
    updated.textContent = new Date(s.collectedAt).toLocaleTimeString();
    updated.setAttribute('data-t', String(s.collectedAt));
    var pill = $('state');
    pill.textContent = error ? 'stale: ' + error.message : 'live';
    pill.className = error ? 'pill stale' : 'pill';
    var c = s.control;
    var control = $('control');
    control.textContent = c ? c.desired + (c.emergency ? ' (emergency stop)' : '') + ' · config v' + c.configVersion : '';
    control.title = c && c.action ? 'after ' + c.action + (c.requestedBy ? ' by ' + c.requestedBy : '') + (c.reason ? ': ' + c.reason : '') : '';
    control.className = c ? (c.desired === 'RUNNING' ? 'pill' : 'pill warn') : '';
  }

  function renderThroughput(s, point) {
    $('mbps').textContent = point ? (point.bytesPerSec / 1e6).toFixed(1) : '0.0';
    $('recps').textContent = point ? count(point.recordsPerSec) : '0';
    $('inflight').textContent = String(s.totals.chunksInFlight);
    var t = s.totals;
    $('bytes-total').textContent = bytes(t.bytesProcessed) + ' of ' + bytes(t.bytesTotal);
    $('chunks-total').textContent = t.chunksDone + ' / ' + t.chunkCount;
    $('records-total').textContent = count(t.recordsIn) + ' in · ' + count(t.recordsOut) + ' out · ' + count(t.recordsRejected) + ' rejected · ' + count(t.recordsFiltered) + ' filtered';
    var l = s.leader;
    $('leader').textContent = l && l.expiresInMs > 0 ? l.holder + ' (token ' + l.token + ')' : 'none';
  }

  // The node's cache from its last heartbeat: used of capacity, and refusals for lack of room.
  function cacheText(n) {
    var c = n.cache;
    if (!c) return n.cacheCapacityBytes ? '? / ' + bytes(n.cacheCapacityBytes) : '–';
    var pct = c.capacityBytes > 0 ? Math.round((c.usedBytes / c.capacityBytes) * 100) : 0;
    return bytes(c.usedBytes) + ' / ' + bytes(c.capacityBytes) + ' (' + pct + '%)' + (c.refused ? ' · ' + c.refused + ' refused' : '');
  }
  // Instance type, GPUs (count × model, memory), network class and zone.
  function hostText(n) {
    var parts = [n.instanceType];
    if (n.gpus) parts.push(n.gpus + '×' + String(n.gpuModel || 'GPU').replace(/^NVIDIA\s+/i, '') + (n.gpuMemoryMiB ? ' ' + Math.round(n.gpuMemoryMiB / 1024) + 'G' : ''));
    if (n.cpus) parts.push(n.cpus + ' vCPU ' + Math.round((n.memoryMiB || 0) / 1024) + 'G');
    if (n.networkBandwidth) parts.push(n.networkBandwidth);
    if (n.availabilityZone || n.region) parts.push(n.availabilityZone || n.region);
    return parts.join(' · ');
  }

  function renderNodes(nodes) {
    if (!nodes.length) return replace($('nodes'), [el('tr', {}, [el('td', { colspan: '10', class: 'muted', text: 'no nodes yet' })])]);
    replace(
      $('nodes'),
      nodes.map(function (n) {
        var load = n.load || {};
        return el('tr', { 'data-node-id': n.nodeId, class: 'node' }, [
          el('td', { text: n.nodeId }),
          el('td', { class: 'health-' + n.health, text: n.health }),
          el('td', { text: n.status }),
          el('td', { class: 'num', text: (load.inFlight || 0) + '/' + (load.concurrency == null ? '?' : load.concurrency) }),
          el('td', { class: 'num', text: String(load.chunksDone || 0) }),
          el('td', { class: 'num', text: age(n.heartbeatAgeMs) }),
          el('td', { text: n.configVersion == null ? '–' : 'v' + n.configVersion }),
          el('td', { text: n.failureDomain }),
          el('td', { class: 'num cache', text: cacheText(n) }),
          el('td', { class: 'host', title: n.instanceId || '', text: hostText(n) + (n.drainReason ? ' · draining: ' + n.drainReason : '') }),
        ]);
      }),
    );
  }

  function renderQueues(q) {
    var rows = [
      ['work', q.work, false],
      ['work DLQ', q.workDlq, true],
      ['ingest-events', q.ingestEvents, false],
      ['ingest-events DLQ', q.ingestEventsDlq, true],
    ];
    replace(
      $('queues'),
      rows.map(function (r) {
        var d = r[1];
        var cls = (r[2] ? 'dlq' : '') + (r[2] && d.visible + d.inFlight > 0 ? ' nonzero' : '');
        return el('tr', { class: cls, 'data-queue': r[0] }, [
          el('td', { text: r[0] + (d.error ? ' (unreadable)' : '') }),
          el('td', { class: 'num', text: String(d.visible) }),
          el('td', { class: 'num', text: String(d.inFlight) }),
          el('td', { class: 'num', text: String(d.delayed) }),
        ]);
      }),
    );
  }

  function renderReplicas(s) {
    var r = s.replicas;
    $('replicas').textContent = 'R = ' + s.replicationFactor + ' · ' + r.shards + ' shards · ' + r.belowR + ' below R · ' + r.pendingPulls + ' pulls pending · ' + r.flaggedShort + ' flagged short';
    $('replicas').style.color = r.belowR > 0 ? 'var(--warn)' : '';
  }

  function renderObjects(objects) {
    $('object-count').textContent = '(' + objects.length + ')';
    if (!objects.length) return;
    var shown = objects.slice(-200).reverse();
    replace(
      $('objects'),
      shown.map(function (o) {
        var pct = o.chunkCount > 0 ? Math.floor((o.chunksDone / o.chunkCount) * 100) : 0;
        var quarantined = o.status === 'QUARANTINED';
        var failed = !quarantined && (o.failedChunks > 0 || o.status === 'FAILED');
        var cls = 'object' + (quarantined ? ' quarantined' : failed ? ' failed' : o.status === 'COMPLETE' ? ' complete' : '');
        var state = quarantined
          ? 'QUARANTINED(' + o.failedChunks + '): ' + (o.quarantineReason || o.lastError || '') + ' · after a fix: shardline redrive'
          : failed
            ? 'FAILED(' + o.failedChunks + ')'
            : o.status;
        return el('div', { class: cls, 'data-key': o.key, 'data-object-id': o.objectId, 'data-status': o.status, 'data-pct': String(pct) }, [
          el('div', { class: 'key', title: o.key, text: o.key }),
          el('div', { class: 'bar' }, [el('div', { class: 'fill', style: 'width:' + pct + '%' })]),
          el('div', { class: 'pct', text: pct + '%' }),
          el('div', { class: 'detail', text: o.chunksDone + '/' + o.chunkCount + ' chunks · ' + bytes(o.bytesDone) + ' · ' + state }),
        ]);
      }),
    );
  }

  function renderErrors(errors) {
    if (!errors.length) return replace($('errors'), [el('li', { class: 'muted plain', text: 'none' })]);
    replace(
      $('errors'),
      errors.map(function (e) {
        var where = e.chunk != null ? ' chunk ' + e.chunk + (e.attempt ? ' (attempt ' + e.attempt + ')' : '') : '';
        return el('li', { 'data-kind': e.kind, text: e.kind + ' · ' + e.objectKey + where + ': ' + e.message });
      }),
    );
  }

  function renderCheckpoints(jobs) {
    if (!jobs || !jobs.length) return replace($('checkpoints'), [el('tr', {}, [el('td', { colspan: '5', class: 'muted', text: 'no checkpoints yet' })])]);
    replace(
      $('checkpoints'),
      jobs.map(function (j) {
        var pending = j.pendingSteps
          .map(function (p) {
            return p.step + ' (' + p.ranksDurable + '/' + p.worldSize + ' ranks)';
          })
          .join(', ');
        var uploading = j.uploading
          .map(function (u) {
            return 'step ' + u.step + ' rank ' + u.rank + ' on ' + u.node + ': ' + bytes(u.bytes) + ', ' + age(u.ageMs);
          })
          .join(' · ');
        return el('tr', { class: 'checkpoint', 'data-job': j.job, 'data-latest': j.latestComplete == null ? '' : String(j.latestComplete), 'data-uploading': String(j.uploading.length) }, [
          el('td', { text: j.job }),
          el('td', { class: 'num', text: j.latestComplete == null ? '–' : String(j.latestComplete) }),
          el('td', { text: j.latestCompletedAt || '–' }),
          el('td', { text: pending || '–' }),
          el('td', { text: uploading || '–' }),
        ]);
      }),
    );
  }

  function get(path) {
    return fetch(path, { cache: 'no-store' }).then(function (r) {
      if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
      return r.json();
    });
  }

  function poll() {
    var started = Date.now();
    Promise.all([get('/api/snapshot'), get('/api/history?since=' + state.lastPointT)])
      .then(function (res) {
        var body = res[0];
        appendPoints(res[1].points);
        if (body.snapshot) {
          var s = body.snapshot;
          renderHeader(s, body.error);
          renderThroughput(s, body.point);
          renderNodes(s.nodes);
          renderQueues(s.queues);
          renderReplicas(s);
          renderObjects(s.objects);
          renderErrors(s.errors);
          renderCheckpoints(s.checkpoints);
          state.lastCollectedAt = s.collectedAt;
          state.updates++;
        }
      })
      .catch(function (err) {
        $('state').textContent = 'disconnected: ' + err.message;
        $('state').className = 'pill stale';
      })
      .then(function () {
        setTimeout(poll, Math.max(0, POLL_MS - (Date.now() - started)));
      });
  }

  makePlot();
  poll();
})();
