// deploy/gateway/healthz.js — njs handlers for the Relay edge gateway (nginx.conf.template).
//
//  * healthz(r): GET /healthz. Probes every service's /readyz in parallel through the
//    internal location /_readyz/<service> and answers
//      {"status": "ready"|"degraded",
//       "services": {"identity": {"status": "ready"|"unavailable", "http_status": 200,
//                                 "detail": <parsed /readyz JSON body or null>}, ...}}
//    with 200 when all services are ready (their /readyz answered 200), 503 otherwise.
//    When the gateway could not reach a service at all, http_status is null and an extra
//    "error" field says "unreachable" or "timeout".
//  * pathJson(r): js_set helper, the request path as a JSON string literal (for the
//    404 envelope built in nginx.conf).
//
// Must be in the same directory as the rendered nginx.conf (js_import is relative to it).
// Written for njs 0.7 (Debian 12's libnginx-mod-http-js) and newer.

var SERVICES = ['identity', 'connections', 'ingestion', 'planning', 'export', 'audit'];

// Bodies returned by the gateway's own @readyz_* locations when the upstream failed.
var GATEWAY_FAILURES = {
    'relay-gateway:unreachable': 'unreachable',
    'relay-gateway:timeout': 'timeout'
};

function parseJson(text) {
    if (!text) {
        return null;
    }
    try {
        return JSON.parse(text);
    } catch (e) {
        return null;
    }
}

async function probe(r, name) {
    try {
        var reply = await r.subrequest('/_readyz/' + name, { method: 'GET' });
        var body = reply.responseText;
        var failure = GATEWAY_FAILURES[body];
        if (failure) {
            return { status: 'unavailable', http_status: null, detail: null, error: failure };
        }
        return {
            status: reply.status === 200 ? 'ready' : 'unavailable',
            http_status: reply.status,
            detail: parseJson(body)
        };
    } catch (e) {
        return { status: 'unavailable', http_status: null, detail: null, error: String(e) };
    }
}

async function healthz(r) {
    var results = await Promise.all(SERVICES.map(function (name) { return probe(r, name); }));
    var services = {};
    var allReady = true;
    for (var i = 0; i < SERVICES.length; i++) {
        services[SERVICES[i]] = results[i];
        if (results[i].status !== 'ready') {
            allReady = false;
        }
    }
    r.headersOut['Content-Type'] = 'application/json';
    r.headersOut['Cache-Control'] = 'no-store';
    r.return(allReady ? 200 : 503,
             JSON.stringify({ status: allReady ? 'ready' : 'degraded', services: services }));
}

function pathJson(r) {
    try {
        return JSON.stringify(r.uri);
    } catch (e) {
        return '"(unprintable path)"';
    }
}

export default { healthz: healthz, pathJson: pathJson };
