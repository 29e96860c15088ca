import Foundation

/// The browser side of the consoles: two small pages and their glue scripts. The terminal is xterm.js (Debian's
/// node-xterm modules, bundled by ``XtermBundle``) and the graphical console noVNC (Debian's novnc); nothing here
/// draws a terminal or decodes RFB.
public enum ConsolePages {
    /// The page for a session. The token is in the page's own URL, so nothing secret is written into it.
    public static func html(mode: ConsoleMode, serverId: String) -> String {
        let title = "Server \(serverId) · \(mode == .serial ? "serial console" : "graphical console")"
        let head: String
        let body: String
        switch mode {
        case .serial:
            head = #"<link rel="stylesheet" href="/console/static/xterm.css">"#
            body = #"<script src="/console/static/xterm.js"></script><script src="/console/static/serial.js"></script>"#
        case .graphical:
            head = ""
            body = #"<script type="module" src="/console/static/graphical.js"></script>"#
        }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>\(title)</title>\(head)
            <link rel="stylesheet" href="/console/static/console.css"></head>
            <body data-mode="\(mode.rawValue)"><div id="status" data-state="connecting">connecting…</div><div id="screen"></div>
            \(body)</body></html>

            """
    }

    public static let stylesheet = """
        html, body { margin: 0; height: 100%; background: #101010; color: #d8d8d8; font-family: sans-serif; }
        #status { padding: 4px 10px; font-size: 13px; background: #202020; border-bottom: 1px solid #333; }
        #status[data-state="disconnected"] { background: #5a1d1d; color: #fff; }
        #status[data-state="readOnly"] { background: #4a3f10; }
        #screen { position: absolute; top: 26px; left: 0; right: 0; bottom: 0; overflow: auto; }

        """

    /// Serial: bytes from the WebSocket into xterm.js, keys back; text messages are status.
    public static let serialScript = """
        (function () {
          'use strict';
          var status = document.getElementById('status');
          function show(state, text) { status.dataset.state = state; status.textContent = text; }
          var parts = location.pathname.split('/');
          var socket = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/console/' + parts[2] + '/websocket');
          socket.binaryType = 'arraybuffer';
          var term = new Terminal({ cols: 100, rows: 32, scrollback: 5000, rendererType: 'dom', cursorBlink: true });
          term.open(document.getElementById('screen'));
          term.focus();
          var decoder = new TextDecoder('utf-8');
          var encoder = new TextEncoder();
          window.consoleText = '';
          socket.onmessage = function (event) {
            if (typeof event.data === 'string') {
              var message = JSON.parse(event.data);
              var labels = { interactive: 'connected', readOnly: 'connected, read-only (another viewer has the keyboard)', disconnected: 'disconnected' };
              show(message.state, (labels[message.state] || message.state) + (message.reason ? ': ' + message.reason : ''));
              return;
            }
            var text = decoder.decode(new Uint8Array(event.data), { stream: true });
            window.consoleText = (window.consoleText + text).slice(-65536);
            term.write(text);
          };
          socket.onclose = function () { if (status.dataset.state !== 'disconnected') { show('disconnected', 'disconnected'); } };
          term.on('data', function (keys) { if (socket.readyState === 1) { socket.send(encoder.encode(keys)); } });
        })();

        """

    /// Graphical: noVNC's RFB client on the WebSocket; the agent already authenticated to the VNC server.
    public static let graphicalScript = """
        import RFB from '/console/static/novnc/core/rfb.js';
        const status = document.getElementById('status');
        function show(state, text) { status.dataset.state = state; status.textContent = text; }
        const parts = location.pathname.split('/');
        const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/console/' + parts[2] + '/websocket';
        const rfb = new RFB(document.getElementById('screen'), url, { wsProtocols: [] });
        rfb.scaleViewport = true;
        rfb.addEventListener('connect', () => show('connected', 'connected'));
        rfb.addEventListener('disconnect', (event) => show('disconnected', event.detail.clean ? 'disconnected' : 'disconnected: the connection was lost'));
        window.consoleRFB = rfb;

        """
}

/// Turns Debian's node-xterm CommonJS modules (`/usr/share/nodejs/xterm/lib`) into one browser script that defines
/// `window.Terminal`. Debian's libjs-xterm 3.8.1 ships `xterm.js` as an unbundled stub (`require("./public/Terminal")`),
/// which no browser can load; the same release's modules are all there, with relative requires only.
public enum XtermBundle {
    /// `modules` maps a path relative to the library directory, without `.js` (`public/Terminal`), to its source.
    public static func bundle(modules: [String: String], entry: String = "xterm") throws -> String {
        guard modules[entry] != nil else { throw XtermBundleError.missingModule(entry) }
        var script = "(function () {\n'use strict';\nvar definitions = {};\n"
        for (name, source) in modules.sorted(by: { $0.key < $1.key }) {
            let cleaned = source.split(separator: "\n", omittingEmptySubsequences: false)
                .filter { !$0.hasPrefix("//# sourceMappingURL=") }.joined(separator: "\n")
            script += "definitions[\(jsonString(name))] = function (require, module, exports) {\n\(cleaned)\n};\n"
        }
        script += """
            var cache = {};
            function resolve(from, request) {
              var parts = from.split('/'); parts.pop();
              request.replace(/\\.js$/, '').split('/').forEach(function (part) {
                if (part === '..') { parts.pop(); } else if (part !== '.' && part !== '') { parts.push(part); }
              });
              return parts.join('/');
            }
            function load(name) {
              if (cache[name]) { return cache[name].exports; }
              if (!definitions[name]) { throw new Error('xterm bundle: no module ' + name); }
              var module = { exports: {} };
              cache[name] = module;
              definitions[name](function (request) { return load(resolve(name, request)); }, module, module.exports);
              return module.exports;
            }
            window.Terminal = load(\(jsonString(entry)));
            })();

            """
        return script
    }

    /// Reads the modules (not their tests) from `directory`.
    public static func modules(in directory: String) throws -> [String: String] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { throw XtermBundleError.missingDirectory(directory) }
        var modules: [String: String] = [:]
        for case let path as String in enumerator where path.hasSuffix(".js") && !path.hasSuffix(".test.js") && !path.hasPrefix("addons/") {
            modules[String(path.dropLast(3))] = try String(contentsOfFile: "\(directory)/\(path)", encoding: .utf8)
        }
        guard !modules.isEmpty else { throw XtermBundleError.missingDirectory(directory) }
        return modules
    }

    static func jsonString(_ text: String) -> String {
        let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "\"\(escaped)\""
    }
}

public enum XtermBundleError: Error, Sendable, CustomStringConvertible {
    case missingDirectory(String)
    case missingModule(String)

    public var description: String {
        switch self {
        case .missingDirectory(let path): return "no xterm.js modules in \(path) (Debian package node-xterm)"
        case .missingModule(let name): return "xterm.js module \(name) is missing"
        }
    }
}
