# shellcheck shell=bash
# The release server of the download benchmark: a throwaway nginx that serves GitHub's releases
# API shape as static files and the release assets with HTTP ranges, on loopback only. jim-install
# and curl fetch the same file from it. Source after common.sh and nginx.sh (for start_nginx).

write_release_site() {
    # write_release_site FOLDER PORT VERSION ARCHIVE: lays out FOLDER/files as a release server
    # for repository bench/jim with one release, VERSION, whose assets are ARCHIVE (moved in),
    # its .sha256 and checksums.sha256; writes FOLDER/nginx.conf.
    local folder="$1" port="$2" version="$3" archive="$4"
    local name download api
    name="$(basename "$archive")"
    download="$folder/files/download/v$version"
    api="$folder/files/api/repos/bench/jim/releases"
    mkdir -p "$download" "$api"
    mv "$archive" "$download/$name"
    (cd "$download" && sha256sum "$name" >"$name.sha256" &&
        sha256sum "$name" "$name.sha256" >checksums.sha256)
    local assets='' asset
    for asset in "$name" "$name.sha256" checksums.sha256; do
        assets+="$(jq -n --arg name "$asset" --argjson size "$(stat -c %s "$download/$asset")" \
            --arg url "http://127.0.0.1:$port/download/v$version/$asset" \
            '{name: $name, size: $size, browser_download_url: $url}'),"
    done
    jq -n --arg tag "v$version" --argjson assets "[${assets%,}]" \
        '{tag_name: $tag, prerelease: false, draft: false, assets: $assets}' >"$api/latest"
    # The readiness probe of start_nginx asks this path.
    mkdir -p "$folder/files/api/v1"
    echo '{"status":"ok"}' >"$folder/files/api/v1/health"

    cat >"$folder/nginx.conf" <<CONFIG
worker_processes auto;
daemon off;
pid $folder/nginx.pid;
error_log $folder/error.log warn;

events {
    worker_connections 64;
}

http {
    access_log off;
    sendfile on;
    default_type application/octet-stream;
    client_body_temp_path $folder/temp/body;
    proxy_temp_path $folder/temp/proxy;
    fastcgi_temp_path $folder/temp/fastcgi;
    uwsgi_temp_path $folder/temp/uwsgi;
    scgi_temp_path $folder/temp/scgi;

    server {
        listen 127.0.0.1:$port;
        root $folder/files;
        location /api/ { default_type application/json; }
    }
}
CONFIG
}
