# shellcheck shell=bash
# A throwaway nginx, the peer that the JIM web service is measured against. It has its own
# configuration, files and logs in a folder, listens on loopback only, and runs in the
# foreground of a background job so that the script that started it can stop it by its PID.
# Source after common.sh.

NGINX_PID=""

nginx_version() {
    nginx -v 2>&1 | sed 's/^nginx version: //'
}

write_nginx_config() {
    # write_nginx_config FOLDER PORT: a configuration that serves FOLDER/files/<name>.json at
    # the JIM paths, so that wrk asks both servers for the same URL path.
    local folder="$1" port="$2"
    cat >"$folder/nginx.conf" <<CONFIG
# One worker per CPU, like the Tokio runtime of the JIM web service.
worker_processes auto;
daemon off;
pid $folder/nginx.pid;
error_log $folder/error.log warn;

events {
    worker_connections 1024;
}

http {
    # The JIM web service logs no requests unless JIM_LOG_REQUESTS is set.
    access_log off;
    # The JIM web service does not close a busy keep-alive connection after a number of
    # requests, whereas nginx does after 1000 by default.
    keepalive_requests 1000000;
    default_type application/json;
    client_body_temp_path $folder/temp/body;
    proxy_temp_path $folder/temp/proxy;
    fastcgi_temp_path $folder/temp/fastcgi;
    uwsgi_temp_path $folder/temp/uwsgi;
    scgi_temp_path $folder/temp/scgi;

    server {
        listen 127.0.0.1:$port;
        location = /api/v1/health { alias $folder/files/health.json; }
        location = /api/v1/health/ready { alias $folder/files/ready.json; }
    }
}
CONFIG
}

start_nginx() {
    # start_nginx FOLDER PORT: starts nginx with FOLDER/nginx.conf and waits until it answers.
    local folder="$1" port="$2"
    mkdir -p "$folder/temp"

    # The workers run as an unprivileged user when nginx starts as root, so they need to read
    # the files; the caller's folder above must let them through (mode 711 is enough).
    chmod -R a+rX "$folder"
    nginx -t -q -p "$folder" -c "$folder/nginx.conf" 2>>"$folder/error.log" ||
        fail "the throwaway nginx configuration \`$folder/nginx.conf\` is invalid" \
            "see \`$folder/error.log\`"
    nginx -p "$folder" -c "$folder/nginx.conf" 2>>"$folder/error.log" &
    NGINX_PID=$!

    for _ in $(seq 1 50); do
        [ "$(http_status "http://127.0.0.1:$port/api/v1/health")" = 200 ] && return 0
        kill -0 "$NGINX_PID" 2>/dev/null || break
        sleep 0.1
    done
    fail "the throwaway nginx did not answer on 127.0.0.1:$port" "see \`$folder/error.log\`"
}

nginx_peak_kib() {
    # nginx_peak_kib: the sum of VmHWM over the master and its workers. Pages the processes
    # share are counted once per process, so this overstates nginx's footprint a little.
    local total=0 pid
    for pid in "$NGINX_PID" $(pgrep -P "$NGINX_PID"); do
        total=$((total + $(memory_kib "$pid" VmHWM)))
    done
    echo "$total"
}

stop_nginx() {
    if [ -n "$NGINX_PID" ] && kill -0 "$NGINX_PID" 2>/dev/null; then
        kill -TERM "$NGINX_PID" 2>/dev/null || true
        wait "$NGINX_PID" 2>/dev/null || true
    fi
    NGINX_PID=""
}
