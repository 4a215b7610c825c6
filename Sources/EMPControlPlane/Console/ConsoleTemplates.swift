/// The console's Mustache templates, compiled into the binary (nothing to install beside it). `{{x}}` is escaped;
/// `{{{x}}}` is used only for markup the console drew itself (``ConsoleGraphics``).
enum ConsoleTemplates {
    static let all: [String: String] = [
        "layout": layout, "login": login, "pools": pools, "pool": pool, "evm": evm, "host": host, "events": events,
        "savings": savings, "message": message,
    ]

    static let message = """
        <h1>{{heading}}</h1>
        <p class="error" role="alert">{{text}}</p>
        <p><a href="{{back}}">{{backLabel}}</a></p>
        """

    static let layout = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · EMP console</title><link rel="stylesheet" href="/console/style.css"></head>
        <body>
        <header><a class="brand" href="/">EMP</a>
        {{#signedIn}}<nav><a href="/">Pools</a> <a href="/events">Events</a> <a href="/savings">Savings</a></nav>
        <span class="who">signed in as {{role}}</span>
        <form method="post" action="/logout" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><button>Log out</button></form>{{/signedIn}}
        </header>
        {{#flash}}<p class="flash" role="status">{{flash}}</p>{{/flash}}
        <main id="main" data-page="{{page}}">{{{body}}}</main>
        <footer>EMP · figures refresh live · cost figures are estimates from on-demand list prices</footer>
        {{#signedIn}}<script src="/console/live.js"></script>{{/signedIn}}
        </body></html>
        """

    static let login = """
        <h1>Sign in</h1>
        <p>Paste an operator token (acts) or a viewer token (looks only). The control plane printed the operator token
        at first start, and keeps it in its data directory as <code>operator-token</code>.</p>
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        <form method="post" action="/login"><label>Token <input type="password" name="token" autocomplete="current-password" autofocus></label>
        <button type="submit" id="login">Sign in</button></form>
        """

    static let pools = """
        <h1>Pools</h1>
        {{^pools}}<p class="empty">No pools yet: <code>empctl pool create</code>.</p>{{/pools}}
        <div class="cards">
        {{#pools}}<section class="card pool" data-pool="{{id}}">
        <h2><a href="/pools/{{id}}">{{id}}</a></h2>
        <p class="counts"><span data-field="hosts">{{hosts}}</span> hosts · <span data-field="evms">{{evms}}</span> EVMs
        ({{#phases}}<span class="phase {{phase}}" data-phase="{{phase}}">{{count}} {{phase}}</span> {{/phases}}) ·
        <span data-field="pending">{{pending}}</span> pending pods</p>
        {{{cpuGauge}}}{{{memoryGauge}}}
        <p class="saving">Saving <strong data-field="savingMonthly">{{savingMonthly}}</strong> a month ({{savingPercent}})</p>
        </section>{{/pools}}
        </div>
        """

    static let pool = """
        <h1>Pool {{id}}</h1>
        <p>{{summary}}</p>
        <div class="gauges">{{{cpuGauge}}}{{{memoryGauge}}}</div>
        <p class="hint">Pods request more than they use: the allocated bar moves with every EVM, the used bar barely does.
        That gap is what overcommit turns into saved hosts.</p>
        <section><h2>Cost</h2><p>Hosts <span data-field="hostsHourly">{{hostsHourly}}</span>/h against
        <span data-field="evmsHourly">{{evmsHourly}}</span>/h for {{runningEVMs}} EVMs as {{instanceType}} instances:
        saving <strong data-field="savingHourly">{{savingHourly}}</strong>/h ({{savingPercent}}), {{savedTotal}} so far.</p></section>
        <section><h2>Hosts</h2><p>{{#hostStates}}<span class="state {{state}}">{{count}} {{state}}</span> {{/hostStates}}</p>
        <table id="hosts"><thead><tr><th>Host</th><th>State</th><th>EVMs</th><th>CPU allocated / used / limit</th><th>Memory allocated / used / limit</th></tr></thead><tbody>
        {{#hosts}}<tr data-host="{{id}}"><td><a href="/hosts/{{id}}">{{id}}</a></td><td>{{state}}</td><td>{{evms}}</td><td>{{cpu}}</td><td>{{memory}}</td></tr>{{/hosts}}
        </tbody></table>{{#moreHosts}}<p>{{moreHosts}}</p>{{/moreHosts}}</section>
        <section><h2>EVMs</h2><p>{{#phases}}<span class="phase {{phase}}" data-phase="{{phase}}">{{count}} {{phase}}</span> {{/phases}}</p>
        <table id="evms"><thead><tr><th>EVM</th><th>Phase</th><th>Host</th><th>Node</th><th>CPU used</th><th>Memory used</th><th>Steal</th></tr></thead><tbody>
        {{#evms}}<tr data-evm="{{id}}"><td><a href="/evms/{{id}}">{{id}}</a></td><td>{{phase}}</td><td>{{host}}</td><td>{{node}}</td><td>{{cpu}}</td><td>{{memory}}</td><td>{{steal}}</td></tr>{{/evms}}
        </tbody></table>{{#moreEVMs}}<p>{{moreEVMs}}</p>{{/moreEVMs}}</section>
        <section><h2>Pending pods</h2>{{^pending}}<p class="empty">None waiting for an EVM.</p>{{/pending}}
        <ul id="pending">{{#pending}}<li>{{.}}</li>{{/pending}}</ul></section>
        <section><h2>Migrations in flight</h2>{{^migrations}}<p class="empty">None.</p>{{/migrations}}
        <table id="migrations">{{#migrations}}<tr><td>{{evm}}</td><td>{{from}} → {{to}}</td><td>{{state}}</td><td>{{progress}}</td><td>{{reason}}</td></tr>{{/migrations}}</table></section>
        <section><h2>Rebalancer plan (dry run)</h2><p class="hint">{{planned}}</p>{{^moves}}<p class="empty">Nothing to move: no host runs hot and no host can be freed.</p>{{/moves}}
        <table id="plan">{{#moves}}<tr><td>{{evm}}</td><td>{{from}} → {{to}}</td><td>{{reason}}</td><td>{{bytes}}</td></tr>{{/moves}}</table>{{#moreMoves}}<p>{{moreMoves}}</p>{{/moreMoves}}
        {{#freed}}<p>Frees: {{freed}}</p>{{/freed}}{{#unresolved}}<p class="warning">{{.}}</p>{{/unresolved}}</section>
        <section><h2>Last 24 hours</h2>{{{cpuChart}}}{{{memoryChart}}}</section>
        """

    static let evm = """
        <h1>EVM {{id}}</h1>
        <p>Pool <a href="/pools/{{pool}}">{{pool}}</a> · phase <strong data-field="phase">{{phase}}</strong> · host {{#hostLink}}<a href="/hosts/{{hostLink}}">{{hostLink}}</a>{{/hostLink}}{{^hostLink}}none{{/hostLink}}
        · Node <code data-field="node">{{node}}</code> · {{shape}}</p>
        {{#message}}<p class="warning">{{message}}</p>{{/message}}
        <section><h2>Provisioning</h2><ol id="timeline" class="timeline">
        {{#steps}}<li class="{{status}}" data-step="{{key}}"><span class="step">{{name}}</span> <time>{{time}}</time> <span class="offset">{{offset}}</span></li>{{/steps}}
        </ol></section>
        <section><h2>Use</h2><p>CPU {{cpu}} · memory {{memory}} · steal {{steal}} · guest swap {{swap}}</p></section>
        <section><h2>Migrations</h2>{{^migrations}}<p class="empty">Never migrated.</p>{{/migrations}}
        <table>{{#migrations}}<tr><td>{{from}} → {{to}}</td><td>{{state}}</td><td>{{reason}}</td><td>{{when}}</td><td>{{progress}}</td></tr>{{/migrations}}</table></section>
        <section><h2>Events</h2><table>{{#events}}<tr><td>{{time}}</td><td>{{reason}}</td><td>{{message}}</td></tr>{{/events}}</table></section>
        """

    static let host = """
        <h1>Host {{id}}</h1>
        <p>Pool <a href="/pools/{{pool}}">{{pool}}</a> · state <strong data-field="state">{{state}}</strong> · {{capacity}} · last report {{heartbeat}}{{#machine}} · machine <span data-field="machine">{{.}}</span>{{/machine}}</p>
        <div class="gauges">{{{cpuGauge}}}{{{memoryGauge}}}</div>
        {{#canAct}}<div class="actions">
        <form method="post" action="/hosts/{{id}}/cordon"><input type="hidden" name="csrf" value="{{csrf}}"><button id="cordon">Cordon</button></form>
        <form method="post" action="/hosts/{{id}}/uncordon"><input type="hidden" name="csrf" value="{{csrf}}"><button id="uncordon">Uncordon</button></form>
        <form method="post" action="/hosts/{{id}}/maintenance"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="enabled" value="{{maintenanceNext}}"><button id="maintenance">{{maintenanceLabel}}</button></form>
        </div>{{/canAct}}
        <section><h2>EVMs</h2><table id="evms"><thead><tr><th>EVM</th><th>Phase</th><th>Allocated</th><th>CPU used</th><th>Memory used</th><th>Steal</th><th>Guest swap in / out</th></tr></thead><tbody>
        {{#evms}}<tr data-evm="{{id}}"><td><a href="/evms/{{id}}">{{id}}</a></td><td>{{phase}}</td><td>{{allocated}}</td><td>{{cpu}}</td><td>{{memory}}</td><td>{{steal}}</td><td>{{swap}}</td></tr>{{/evms}}
        </tbody></table></section>
        <section><h2>Allocated and used, last 24 hours</h2>{{{cpuChart}}}{{{memoryChart}}}</section>
        <section><h2>State changes</h2><table>{{#events}}<tr><td>{{time}}</td><td>{{reason}}</td><td>{{message}}</td></tr>{{/events}}</table></section>
        """

    static let events = """
        <h1>Events</h1>
        <form method="get" action="/events" class="filters"><label>Kind <select name="kind"><option value="">any</option>
        {{#kinds}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/kinds}}</select></label>
        <label>Object <input name="id" value="{{id}}"></label> <label>Reason <input name="reason" value="{{reason}}"></label> <button>Filter</button></form>
        {{#error}}<p class="error">{{error}}</p>{{/error}}
        <table id="events"><thead><tr><th>Time</th><th>Object</th><th>Reason</th><th>Message</th></tr></thead><tbody>
        {{#rows}}<tr class="{{type}}"><td>{{time}}</td><td>{{#link}}<a href="{{link}}">{{object}}</a>{{/link}}{{^link}}{{object}}{{/link}}</td><td>{{reason}}</td><td>{{message}}</td></tr>{{/rows}}
        </tbody></table>
        """

    static let savings = """
        <h1>Savings</h1>
        <p class="note">{{note}}.</p>
        <p class="headline">Hosts cost <span data-field="hostsHourly">{{hostsHourly}}</span>/h; the running EVMs would cost
        <span data-field="evmsHourly">{{evmsHourly}}</span>/h as on-demand instances: saving <strong data-field="savingHourly">{{savingHourly}}</strong>/h
        ({{savingPercent}}), <strong data-field="savingMonthly">{{savingMonthly}}</strong> a month, <strong data-field="savedTotal">{{savedTotal}}</strong> so far.</p>
        <table id="savings"><thead><tr><th>Pool</th><th>Hosts</th><th>Hosts $/h</th><th>EVMs</th><th>As</th><th>Instances $/h</th><th>Saving $/h</th><th>Saving</th><th>Saved since</th><th>Saved</th></tr></thead><tbody>
        {{#pools}}<tr data-pool="{{id}}"><td><a href="/pools/{{id}}">{{id}}</a></td><td>{{hosts}}</td><td>{{hostsHourly}}</td><td>{{evms}}</td><td>{{instance}}</td><td>{{evmsHourly}}</td><td>{{savingHourly}}</td><td>{{savingPercent}}</td><td>{{since}}</td><td>{{savedTotal}}</td></tr>{{/pools}}
        </tbody></table>
        {{#charts}}{{{.}}}{{/charts}}
        <p>Prices: the shipped on-demand list (m5 family, m5.metal) and the <code>cost:</code> section of the control plane's configuration.</p>
        """

    static let style = """
        body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d232b;background:#f5f6f8}
        header{display:flex;gap:1.2em;align-items:center;padding:.6em 1.2em;background:#1d2b3a;color:#fff}
        header a{color:#fff;text-decoration:none}header .brand{font-weight:700;letter-spacing:.05em}
        header nav a{margin-right:1em}header .who{margin-left:auto;opacity:.8}form.inline{display:inline}
        main{padding:1em 1.5em;max-width:1200px}footer{padding:1em 1.5em;color:#667;font-size:12px}
        .cards{display:flex;flex-wrap:wrap;gap:1em}.card{background:#fff;border:1px solid #dde;border-radius:6px;padding:.8em 1em;min-width:360px}
        table{border-collapse:collapse;background:#fff;margin:.5em 0}td,th{border:1px solid #e2e4e8;padding:.25em .6em;text-align:left}
        .gauge{margin:.4em 0}.gauge svg .track{fill:#e6e9ee}.gauge svg .allocated{fill:#6c8ebf}.gauge svg .used{fill:#d9822b}
        .chart svg .plot{fill:#fff;stroke:#dde}polyline{stroke-width:2}.limit{stroke:#999}.allocated{stroke:#6c8ebf}.used{stroke:#d9822b}
        .saving-line{stroke:#2e8540}.cost-line{stroke:#b33}.legend{padding:0 .4em;border-left:12px solid}.legend.limit{border-color:#999}
        .legend.allocated{border-color:#6c8ebf}.legend.used{border-color:#d9822b}.legend.saving-line{border-color:#2e8540}.legend.cost-line{border-color:#b33}
        .gauges{display:flex;gap:2em;flex-wrap:wrap}.hint,.note{color:#556}.empty{color:#889}.warning{color:#a45a00}.error{color:#b00020}
        .flash{background:#fff6d5;border:1px solid #e8d48b;margin:1em 1.5em;padding:.5em 1em}
        .timeline li.pending{color:#889}.timeline .offset{color:#556}.actions form{display:inline-block;margin-right:.5em}
        .phase,.state{display:inline-block;padding:0 .4em;border-radius:3px;background:#eef}
        """

    /// Live updates: the page listens to `/console/updates` and, on each message, fetches itself again and swaps in
    /// the new `<main>` (gauges, lists, charts), so nothing is drawn twice in two languages.
    static let script = """
        (function () {
          if (!window.EventSource) return;
          var busy = false;
          var last = null;
          var source = new EventSource('/console/updates');
          source.onmessage = function (message) {
            // The first message is the state this page was drawn from; later ones say something changed.
            var first = last === null;
            last = message.data;
            if (first || busy) return;
            busy = true;
            fetch(location.href, {credentials: 'same-origin'}).then(function (r) {
              return r.ok && !r.redirected ? r.text() : null;
            }).then(function (text) {
              if (text) {
                var next = new DOMParser().parseFromString(text, 'text/html').querySelector('main');
                var current = document.querySelector('main');
                if (next && current) current.replaceWith(next);
              }
              busy = false;
            }).catch(function () { busy = false; });
          };
        })();
        """
}
