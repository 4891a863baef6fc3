# /etc/passwd, /etc/group and /etc/nsswitch.conf for one non-root image user.
# Everything comes from the image contract entry given as `entry` (user, uid, gid);
# `home` and `shell` are passed by the image expression.
{ pkgs }:
{
  entry,
  home,
  shell,
}:
let
  uid = toString entry.uid;
  gid = toString entry.gid;
  passwd = ''
    root:x:0:0:root:/root:${shell}
    ${entry.user}:x:${uid}:${gid}:${entry.user}:${home}:${shell}
    nobody:x:65534:65534:nobody:/var/empty:/bin/false
  '';
  group = ''
    root:x:0:
    ${entry.user}:x:${gid}:
    nogroup:x:65534:
  '';
  nsswitch = ''
    passwd: files
    group: files
    shadow: files
    hosts: files dns
  '';
in
{
  inherit passwd group nsswitch;
  contents = [
    (pkgs.writeTextDir "etc/passwd" passwd)
    (pkgs.writeTextDir "etc/group" group)
    (pkgs.writeTextDir "etc/nsswitch.conf" nsswitch)
  ];
}
