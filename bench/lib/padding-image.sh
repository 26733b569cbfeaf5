# shellcheck shell=bash
# An image tar of any size, made without a registry or a Docker daemon: one layer holding one
# file of random bytes, in the format `docker save` writes (manifest.json, the config named by
# its digest, the layer tar). Random bytes do not compress, so the image costs its full size at
# every stage. Source after common.sh.

write_padding_image() {
    # write_padding_image FILE REFERENCE MIB WORK_FOLDER: writes the image tar FILE, tagged
    # REFERENCE, whose single layer holds a file of MIB MiB. WORK_FOLDER is used and emptied.
    local output="$1" reference="$2" mib="$3" work="$4"
    local image="$work/image" root="$work/root"
    mkdir -p "$image" "$root"

    head -c "$((mib * 1024 * 1024))" /dev/urandom >"$root/padding.bin"
    tar --create --file "$image/layer.tar" --directory "$root" --numeric-owner --owner=0 \
        --group=0 --mtime=@0 --mode=0644 padding.bin
    rm -rf "$root"

    # The config names the layer by the digest of its uncompressed tar; the image ID is the
    # digest of the config, and the config's file name must be that digest for Docker and for
    # `jim-bundle` alike.
    local layer_digest config config_digest
    layer_digest="$(sha256sum "$image/layer.tar" | cut -d ' ' -f 1)"
    mkdir -p "$image/$layer_digest"
    mv "$image/layer.tar" "$image/$layer_digest/layer.tar"
    config="$(jq -c -n --arg diff "sha256:$layer_digest" '{
        architecture: "amd64", os: "linux", created: "1970-01-01T00:00:00Z",
        config: {Cmd: ["/padding.bin"]},
        rootfs: {type: "layers", diff_ids: [$diff]},
        history: [{created: "1970-01-01T00:00:00Z", comment: "benchmark padding"}]
    }')"
    printf '%s' "$config" >"$image/config.json"
    config_digest="$(sha256sum "$image/config.json" | cut -d ' ' -f 1)"
    mv "$image/config.json" "$image/$config_digest.json"
    jq -c -n --arg config "$config_digest.json" --arg reference "$reference" \
        --arg layer "$layer_digest/layer.tar" \
        '[{Config: $config, RepoTags: [$reference], Layers: [$layer]}]' >"$image/manifest.json"

    # manifest.json first: readers that look for it stop before the large layer.
    tar --create --file "$output" --directory "$image" --numeric-owner --owner=0 --group=0 \
        --mtime=@0 manifest.json "$config_digest.json" "$layer_digest"
    rm -rf "$image"
}
