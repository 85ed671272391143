import Foundation
import SpillwayTestSupport
import Testing

/// Namespace parity: each scenario is a shell script of real programs, run four ways on a fresh
/// copy of the same starting tree — without the preload library, with it while `normal`, while
/// `spilling` and while `draining` — with the managed tree on btrfs and the spill area on ext4.
/// What the programs observe (exit status, output with paths normalised, and a listing of the
/// whole tree taken through the union afterwards) must be the same every way, and on disk every
/// name must live in exactly one place, holding what the run without the library holds.
///
/// For the library's runs the starting tree is split: some files on the main disk, some in the
/// spill area as if spilled earlier, directories in both (`both`, `both/sub`, `empty-both`,
/// `perm`); while `normal` it lies whole on the main disk, as `normal` means an empty spill area.
///
/// Scenarios that write into an existing main-disk file while `spilling` belong to the write side
/// (WriteSideTests) and are not here.
@Suite("Preload library: namespace parity with plain libc", .serialized)
struct ParityTests {
    enum Mode: String, CaseIterable, Sendable { case plain, normal, spilling, draining }

    struct Scenario: Sendable {
        let name: String
        let script: String
        /// The run may add names on the main disk while spilling (hard links to main-disk files).
        let mainMayGrow: Bool
    }

    /// One line per scenario.
    static func s(_ name: String, _ script: String, mainMayGrow: Bool = false) -> Scenario {
        Scenario(name: name, script: script, mainMayGrow: mainMayGrow)
    }

    // MARK: - The starting tree

    static let fixture: UnionFixture = {
        func file(_ text: String, mode: Int = 0o644, uid: Int = 0, gid: Int = 0) -> UnionFixture.Item {
            .file(Data(text.utf8), mode: mode, uid: uid, gid: gid)
        }
        func dir(_ mode: Int = 0o755, uid: Int = 0, gid: Int = 0) -> UnionFixture.Item {
            .directory(mode: mode, uid: uid, gid: gid)
        }
        var big = Data(count: 100_000)
        for i in 0..<big.count { big[i] = UInt8((i * 7 + i / 251) % 256) }
        typealias E = UnionFixture.Entry
        return UnionFixture([
            E("both", dir(), .both),
            E("both/sub", dir(), .both),
            E("empty-both", dir(), .both),
            E("perm", dir(0o750, uid: 1234, gid: 1234), .both),
            E("mainonly", dir(), .main),
            E("mainonly/y", dir(), .main),
            E("empty-main", dir(), .main),
            E("spillonly", dir(), .spill),
            E("spillonly/q", dir(), .spill),
            E("a.txt", file("alpha\n"), .main),
            E("b.txt", file("bravo\n"), .spill),
            E(".hidden-m", file("hidden main\n"), .main),
            E(".hidden-s", file("hidden spill\n"), .spill),
            E("ro.txt", file("read only\n", mode: 0o444), .main),
            E("big.bin", .file(big, mode: 0o644, uid: 0, gid: 0), .main),
            E("bigs.bin", .file(big.prefix(50_000), mode: 0o600, uid: 0, gid: 0), .spill),
            E("exe.sh", file("#!/bin/sh\necho spilled-exe \"$@\"\n", mode: 0o755), .spill),
            E("mexe.sh", file("#!/bin/sh\necho main-exe \"$@\"\n", mode: 0o755), .main),
            E("link-a", .symlink("a.txt"), .main),
            E("link-b", .symlink("b.txt"), .spill),
            E("dirlink", .symlink("both"), .main),
            E("spilldirlink", .symlink("spillonly"), .spill),
            E("dangling", .symlink("nowhere"), .main),
            E("both/m1.txt", file("m1\n"), .main),
            E("both/m2.txt", file("m2\n"), .main),
            E("both/s1.txt", file("s1\n"), .spill),
            E("both/s2.txt", file("s2\n"), .spill),
            E("both/sub/deep-m.txt", file("deep main\n"), .main),
            E("both/sub/deep-s.txt", file("deep spill\n"), .spill),
            E("perm/f-main", file("pm\n", mode: 0o640, uid: 1234, gid: 1234), .main),
            E("perm/f-spill", file("ps\n", mode: 0o640, uid: 1234, gid: 1234), .spill),
            E("mainonly/x.txt", file("x\n"), .main),
            E("mainonly/y/z.txt", file("z\n"), .main),
            E("spillonly/p.txt", file("p\n"), .spill),
            E("spillonly/q/r.txt", file("r\n"), .spill),
        ])
    }()

    // MARK: - Scenarios

    static let coreutils: [Scenario] = [
        s("ls root", "ls -1"),
        s("ls -a root", "ls -1a"),
        s("ls merged dir", "ls -1 both both/sub"),
        s("ls -R", "ls -1R"),
        s("ls -F types", "ls -1F"),
        s("ls -d */", "ls -1d */"),
        s("ls -ln files", "ls -ln a.txt b.txt ro.txt both/m1.txt both/s1.txt perm/f-spill | awk '{print $1,$3,$4,$5,$7}'"),
        s("ls through dir link", "ls -1 dirlink/ spilldirlink/"),
        s("ls missing", "ls nope; echo rc=$?"),
        s("stat files", "stat -c '%n %F %a %s %h %u %g' a.txt b.txt link-a link-b both/s1.txt both/m1.txt perm/f-spill"),
        s("stat -L links", "stat -L -c '%n %F' link-a link-b dirlink spilldirlink && stat -L -c '%n %s' link-a link-b"),
        s("stat dirs", "stat -c '%n %F %a %u %g' both spillonly mainonly empty-both perm"),
        s("stat missing", "stat nope; echo rc=$?; stat -L dangling; echo rc=$?"),
        s("cat files", "cat a.txt b.txt both/*.txt both/sub/*"),
        s("shell glob", "echo * both/* */*.txt .h*"),
        s("test operators", "for p in a.txt b.txt both spillonly link-b dangling nope exe.sh; do [ -e $p ] && echo e $p; [ -f $p ] && echo f $p; [ -d $p ] && echo d $p; [ -L $p ] && echo L $p; [ -x $p ] && echo x $p; done"),
        s("readlink", "readlink link-a link-b dirlink spilldirlink dangling; readlink b.txt; echo rc=$?"),
        s("readlink -f", "readlink -f link-b spilldirlink/q both/sub/../s1.txt dirlink/sub"),
        s("realpath", "realpath a.txt b.txt spillonly/q both/sub/deep-s.txt dirlink/s1.txt spilldirlink/p.txt"),
        s("realpath errors", "realpath nope/x; echo rc=$?; realpath -e both/nope; echo rc=$?"),
        s("realpath relative-to", "realpath --relative-to=both spillonly/p.txt mainonly/y"),
        s("cd spill-only dir", "cd spillonly/q && pwd && /bin/pwd && ls && cat r.txt"),
        s("cd merged dir", "cd both && cat m1.txt s1.txt && ls -1 sub && /bin/pwd"),
        s("cd and back up", "cd spillonly/q && cd ../.. && /bin/pwd && ls -1 | head -3"),
        s("cd through link", "cd spilldirlink && /bin/pwd && pwd -P && ls"),
        s("mkdir", "mkdir newd && stat -c '%F %a' newd && ls -1"),
        s("mkdir -p in merged", "mkdir -p both/sub/n1/n2 && ls -1R both/sub"),
        s("mkdir -p in spill-only", "mkdir -p spillonly/q/new/deeper && ls -1R spillonly"),
        s("mkdir -p in main-only", "mkdir -p mainonly/y/w && ls -1R mainonly"),
        s("mkdir -m", "mkdir -m 700 privd && stat -c '%a' privd"),
        s("mkdir in perm dir", "mkdir perm/sub && stat -c '%a %u' perm perm/sub"),
        s("mkdir existing", "mkdir both; echo rc=$?; mkdir b.txt; echo rc=$?; mkdir spillonly; echo rc=$?; mkdir link-b; echo rc=$?"),
        s("mkdir missing parent", "mkdir nope/x; echo rc=$?; mkdir b.txt/x; echo rc=$?"),
        s("mkdir trailing slash", "mkdir td/ && mkdir spillonly/td/ && ls -1d td spillonly/td"),
        s("rmdir empty-both", "rmdir empty-both && ls -1"),
        s("rmdir empty-main", "rmdir empty-main && ls -1"),
        s("rmdir non-empty merged", "rmdir both; echo rc=$?; ls -1 both"),
        s("rmdir after emptying spill half", "rm both/s1.txt both/s2.txt; rmdir both; echo rc=$?; ls -1 both"),
        s("rmdir after emptying all", "rm both/sub/*; rmdir both/sub && ls -1 both"),
        s("rmdir file and dot", "rmdir b.txt; echo rc=$?; rmdir spillonly/q/.; echo rc=$?; rmdir nope; echo rc=$?"),
        s("rmdir -p", "mkdir -p spillonly/q/a/b && rmdir -p spillonly/q/a/b; echo rc=$?; ls -1R spillonly"),
        s("rm spilled file", "rm b.txt && ls -1"),
        s("rm main file", "rm a.txt && ls -1"),
        s("rm missing and dir", "rm nope; echo rc=$?; rm both; echo rc=$?"),
        s("rm -r merged", "rm -r both && ls -1"),
        s("rm -rf spill-only", "rm -rf spillonly && ls -1"),
        s("rm -r main-only", "rm -r mainonly && ls -1"),
        s("rm -rf all", "rm -rf ./* ./.h* && ls -1a"),
        s("rm -d empty dirs", "rm -d empty-both empty-main && ls -1"),
        s("rm links", "rm link-b dirlink spilldirlink dangling && ls -1 && cat b.txt"),
        s("rm -r trailing slash", "rm -r both/ spillonly/ && ls -1"),
        s("touch new", "touch t1 both/t2 spillonly/t3 mainonly/t4 empty-both/t5 && ls -1 . both spillonly mainonly empty-both"),
        s("touch -d existing", "touch -c -d '2001-02-03 04:05:06' a.txt b.txt both spillonly && stat -c '%n %Y' a.txt b.txt both spillonly"),
        s("touch -h link", "touch -h -d @1000000000 link-b link-a && stat -c '%n %Y' link-b link-a"),
        s("touch -r", "touch -d @123456789 b.txt && touch -c -r b.txt a.txt && stat -c '%n %Y' a.txt b.txt"),
        s("touch missing dir", "touch nope/x; echo rc=$?"),
        s("chmod spilled", "chmod 600 b.txt both/s1.txt && stat -c '%n %a' b.txt both/s1.txt"),
        s("chmod main", "chmod 640 a.txt both/m1.txt && stat -c '%n %a' a.txt both/m1.txt"),
        s("chmod merged dir", "chmod 700 both && stat -c '%a' both && ls -1 both"),
        s("chmod -R", "chmod -R go-rwx both && find both -printf '%m %p\\n' | sort"),
        s("chmod through link", "chmod 600 link-b link-a && stat -c '%n %a' a.txt b.txt"),
        s("chmod missing", "chmod 600 nope; echo rc=$?"),
        s("chown", "chown 1000:1000 b.txt a.txt && stat -c '%n %u %g' a.txt b.txt"),
        s("chown -R merged", "chown -R 4321:4321 both && find both -printf '%U:%G %p\\n' | sort"),
        s("chown -h link", "chown -h 7:7 link-b && stat -c '%u' link-b && stat -L -c %u link-b"),
        s("chgrp", "chgrp 99 spillonly/p.txt mainonly/x.txt && stat -c '%n %g' spillonly/p.txt mainonly/x.txt"),
        s("truncate spilled", "truncate -s 3 b.txt && od -c b.txt"),
        s("truncate grow spilled", "truncate -s 100 both/s1.txt && stat -c %s both/s1.txt"),
        s("truncate new", "truncate -s 1M sparse && stat -c %s sparse && truncate -s 10 spillonly/t && stat -c %s spillonly/t"),
        s("truncate missing", "truncate -c -s 0 nope; echo rc=$?; ls nope; truncate -s 1 nope/x; echo rc=$?"),
        s("ln -s", "ln -s b.txt nl && cat nl && readlink nl"),
        s("ln -s into spill-only", "ln -s ../a.txt spillonly/la && cat spillonly/la"),
        s("ln -s existing", "ln -s x b.txt; echo rc=$?; ln -s x a.txt; echo rc=$?"),
        s("ln -sr", "ln -sr spillonly/p.txt both/rel && readlink both/rel && cat both/rel"),
        s("ln spilled", "ln b.txt hb && stat -c '%n %h' b.txt hb && cat hb"),
        s("ln main", "ln a.txt ha && stat -c '%n %h' a.txt ha", mainMayGrow: true),
        s("ln main into spill-only", "ln a.txt spillonly/ha && cat spillonly/ha && stat -c %h a.txt", mainMayGrow: true),
        s("ln spilled into main-only", "ln b.txt mainonly/hb && cat mainonly/hb && stat -c %h b.txt"),
        s("ln existing", "ln a.txt b.txt; echo rc=$?; ln nope x; echo rc=$?"),
        s("ln -sf replace", "ln -sf a.txt link-b && readlink link-b && cat link-b"),
        s("ln -sfn dir", "ln -sfn spillonly dirlink && ls dirlink/"),
        s("mv spilled", "mv b.txt c.txt && ls -1 && cat c.txt"),
        s("mv main", "mv a.txt c.txt && ls -1 && cat c.txt"),
        s("mv spilled over main", "mv b.txt a.txt && cat a.txt && ls -1"),
        s("mv main over spilled", "mv a.txt b.txt && cat b.txt && ls -1"),
        s("mv into spill-only", "mv a.txt b.txt spillonly/ && ls -1 . spillonly"),
        s("mv into main-only", "mv b.txt a.txt mainonly/ && ls -1 . mainonly"),
        s("mv merged dir", "mv both both2 && ls -1R both2"),
        s("mv merged dir into main-only", "mv both mainonly/ && ls -1R mainonly"),
        s("mv main dir into spill-only", "mv mainonly spillonly/ && ls -1R spillonly"),
        s("mv spill dir into merged", "mv spillonly both/sub/ && ls -1R both"),
        s("mv -T over empty merged", "mv -T spillonly empty-both && ls -1R empty-both"),
        s("mv -T over non-empty", "mv -T spillonly both; echo rc=$?; mv -T empty-main both; echo rc=$?"),
        s("mv -T dir over file", "mv -T both a.txt; echo rc=$?; mv -T b.txt empty-both; echo rc=$?"),
        s("mv -n", "mv -n b.txt a.txt; cat a.txt b.txt"),
        s("mv into itself", "mv both both/sub/; echo rc=$?; ls -1 both"),
        s("mv -b", "mv -b b.txt a.txt && ls -1 && cat a.txt a.txt~"),
        s("mv links", "mv link-b link-c && mv dirlink dl2 && cat link-c && ls dl2/"),
        s("mv within merged", "mv both/s1.txt both/sub/ && mv both/m1.txt both/sub/ && ls -1R both"),
        s("mv missing", "mv nope x; echo rc=$?; mv a.txt nope/x; echo rc=$?"),
        s("cp spilled", "cp b.txt b2.txt && cat b2.txt && cp a.txt spillonly/ && cat spillonly/a.txt"),
        s("cp -r merged", "cp -r both bothcopy && ls -1R bothcopy && cat bothcopy/sub/*"),
        s("cp -a spill-only", "cp -a spillonly sc && find sc -printf '%m %p\\n' | sort"),
        s("cp -p", "touch -c -d @1234567890 b.txt a.txt && cp -p b.txt bp && cp -p a.txt ap && stat -c '%n %a %Y' bp ap"),
        s("cp -rl", "cp -rl spillonly spl && stat -c '%n %h' spl/p.txt spillonly/q/r.txt"),
        s("cp -rs", "cp -rs $PWD/both bs && find bs -type l -printf '%p -> %l\\n' | sort && cat bs/s1.txt"),
        s("cp -r into merged", "cp -r mainonly/. both/ && ls -1R both"),
        s("cp -a perm", "cp -a perm perm2 && stat -c '%n %a %u %g' perm2 perm2/*"),
        s("find -name", "find . -name '*.txt' | sort"),
        s("find -type", "find . -type d | sort; find . -type l | sort"),
        s("find -empty", "find . -empty | sort"),
        s("find -L", "find -L dirlink spilldirlink | sort"),
        s("find -delete", "find both -name 's*.txt' -delete && find . -type f | sort"),
        s("find -exec", "find spillonly both -type f -exec cat {} \\; | sort"),
        s("find depth", "find . -mindepth 2 -maxdepth 2 | sort"),
        s("find -size and -perm", "find . -type f -size -2k | sort; find . -perm -u+x -type f | sort"),
        s("du --inodes", "du --inodes -a | sort -k2"),
        s("du -b files", "du -b a.txt b.txt big.bin bigs.bin both/*.txt | sort -k2"),
        s("tee", "echo hi | tee t1 both/t2 spillonly/t3 > /dev/null && cat t1 both/t2 spillonly/t3"),
        s("tee -a spilled", "echo more | tee -a b.txt && cat b.txt"),
        s("wc", "wc -c a.txt b.txt both/* 2>&1 | sort"),
        s("sort -o", "sort -o sorted b.txt a.txt both/s1.txt && cat sorted"),
        s("install", "install -m 750 a.txt spillonly/inst && install -d -m 700 newtree/a/b && stat -c '%n %a' spillonly/inst newtree/a/b"),
        s("mktemp", "d=$(mktemp -d -p both) && ls -1 both | wc -l && rmdir $d && ls -1 both"),
        s("mkfifo and mknod", "mkfifo both/fifo && mknod spillonly/pipe p && stat -c '%n %F' both/fifo spillonly/pipe"),
        s("split", "split -b 2 b.txt both/part. && ls -1 both && cat both/part.*"),
        s("dd", "dd if=b.txt of=dd.out status=none && dd if=big.bin of=both/dd2 bs=4k count=3 status=none && cat dd.out && stat -c %s both/dd2"),
        s("xargs", "ls both | xargs -I{} cat both/{} 2>&1 | sort"),
        s("md5sum -c", "md5sum a.txt b.txt big.bin bigs.bin > spillonly/sums && md5sum -c spillonly/sums"),
        s("shred -u spilled", "shred -u b.txt && ls -1"),
        s("mv -T over empty main-only", "mv -T both empty-main && ls -1R empty-main && mv -T empty-both empty-main; echo rc=$?"),
        s("mv round trip", "mv both x && mv x both && mv b.txt y && mv y b.txt && ls -1R both && cat b.txt"),
        s("mv onto itself", "mv b.txt b.txt; echo rc=$?; mv both ./both; echo rc=$?; ls -1 both"),
        s("mv from a merged cwd", "cd both && mv ../b.txt ../a.txt . && ls -1 && cd .. && ls -1"),
        s("dot-dot through halves", "cat spillonly/q/../p.txt both/sub/../s1.txt both/sub/../m1.txt mainonly/y/../x.txt"),
        s("deep new tree", "mkdir -p n/a/b/c && touch n/a/b/c/f && ls -1R n && rm -r n && ls -1"),
        s("unlink and recreate", "rm a.txt b.txt && echo new-a > a.txt && echo new-b > b.txt && cat a.txt b.txt"),
        s("rm -rf and mkdir again", "rm -rf both && mkdir both && ls -1a both && touch both/f && ls -1 both"),
        s("symlink loop", "ln -s loop1 loop2 && ln -s loop2 loop1 && cat loop1; echo rc=$?; stat -L loop1; echo rc=$?"),
        s("rmdir cwd by its name", "cd empty-both && rmdir ../empty-both; echo rc=$?; cd .. && ls -1"),
        s("find -depth -delete", "find . -depth -delete; echo rc=$?; ls -1a"),
        s("cp -a and diff -r", "cp -a both bc && diff -r both bc && echo same && cp -a spillonly mainonly/sc && diff -r spillonly mainonly/sc && echo same"),
        s("ls -ld dirs", "ls -ld both spillonly mainonly perm empty-both | awk '{print $1,$3,$4,$NF}'"),
        s("stat through dir links", "stat -c '%n %F' dirlink/s1.txt dirlink/m1.txt dirlink/sub/deep-s.txt spilldirlink/q/r.txt; ls -1 dirlink/sub"),
        s("basename dirname realpath -s", "realpath -s dirlink/s1.txt spilldirlink/q && realpath -L spilldirlink/q/.."),
    ]

    static let shell: [Scenario] = [
        s("redirect > new", "echo new > both/new.txt && echo top > top.txt && cat both/new.txt top.txt"),
        s("redirect >> spilled", "echo more >> b.txt && echo more >> both/s1.txt && cat b.txt both/s1.txt"),
        s("redirect <> spilled", "exec 3<>both/s1.txt; echo X >&3; exec 3>&-; cat both/s1.txt"),
        s("redirect < read", "while read l; do echo \"[$l]\"; done < both/s2.txt; while read l; do echo \"[$l]\"; done < a.txt"),
        s("noclobber", "set -C; echo x > b.txt; echo rc=$?; echo y > fresh; echo rc=$?; cat b.txt fresh"),
        s("here-doc into spill-only", "cat > spillonly/h.txt <<EOF\nline one\nline two\nEOF\ncat spillonly/h.txt"),
        s("source spilled", "echo 'echo sourced $1' > both/lib.sh && . ./both/lib.sh"),
        s("run spilled script", "./exe.sh arg && sh exe.sh two && ./mexe.sh three"),
        s("run via PATH", "PATH=$PWD:$PATH exe.sh viapath && PATH=$PWD/spillonly:$PATH; cp exe.sh spillonly/run && run x"),
        s("command -v", "PATH=$PWD:/usr/bin:/bin; command -v exe.sh mexe.sh | sed \"s|$PWD|T|\""),
        s("env -i runs spilled", "env -i ./exe.sh clean && env -i PATH=$PWD exe.sh searched"),
        s("exec spilled", "sh -c 'exec ./exe.sh execd'"),
        s("cd, create, cd", "cd spillonly && mkdir sub2 && echo x > sub2/f && cd sub2 && /bin/pwd && ls && cat f"),
        s("subshell cwd", "(cd both/sub && cat deep-m.txt deep-s.txt && ls -1) && ls -1 both"),
        s("for over glob", "for f in both/*.txt spillonly/*; do echo \"$f: $(cat $f 2>&1)\"; done"),
        s("git-free shell loop", "i=0; while [ $i -lt 5 ]; do mkdir -p loop/$i && echo $i > loop/$i/f; i=$((i+1)); done; cat loop/*/f; rm -r loop/2; ls -1 loop"),
        s("cd spill-only then relative ops", "cd spillonly && mkdir -p n/m && mv p.txt n/m/ && ln -s n/m/p.txt pl && cat pl && cd n && /bin/pwd && ls -1R"),
        s("case and test -nt", "[ both/s1.txt -ef both/s1.txt ] && echo same; [ link-b -ef b.txt ] && echo linked"),
    ]

    static let archives: [Scenario] = [
        s("tar create", "tar --sort=name -cf arch.tar both spillonly && tar tf arch.tar"),
        s("tar extract", "tar --sort=name -cf arch.tar both && mkdir ext && tar xf arch.tar -C ext && find ext | sort && cat ext/both/s1.txt ext/both/m1.txt"),
        s("tar extract over", "tar --sort=name -cf arch.tar both spillonly && tar xf arch.tar && find both spillonly | sort"),
        s("tar czf", "tar --sort=name -czf a.tgz spillonly both/sub && tar tzf a.tgz"),
        s("tar --remove-files", "tar --sort=name -cf a.tar --remove-files both && ls -1 && tar tf a.tar | sort"),
        s("tar -C", "tar --sort=name -C both -cf a.tar . && tar tf a.tar"),
        s("tar -p perms", "tar --sort=name -cpf a.tar perm && rm -r perm && tar xpf a.tar && stat -c '%n %a %u %g' perm perm/*"),
        s("tar links", "tar --sort=name -cf a.tar link-a link-b dirlink dangling && mkdir e && tar xf a.tar -C e && find e -printf '%p %l\\n' | sort"),
        s("tar -h", "tar --sort=name -chf a.tar dirlink spilldirlink && tar tf a.tar"),
        s("tar hard links", "ln b.txt hb && tar --sort=name -cf a.tar b.txt hb && mkdir e && tar xf a.tar -C e && stat -c '%n %h' e/b.txt e/hb"),
        s("tar extract into existing directories", "tar --sort=name -C both -cf t.tar . && for d in mainonly empty-main empty-both spillonly; do tar -C $d -xf t.tar && echo $d ok; done; find mainonly empty-main empty-both spillonly | sort"),
        s("gzip spilled", "gzip b.txt && ls -1 && zcat b.txt.gz"),
        s("gzip main", "gzip a.txt && ls -1 && gunzip a.txt.gz && cat a.txt"),
        s("gzip -r merged", "gzip -r both && find both | sort && gunzip -r both && find both | sort"),
        s("gzip -k", "gzip -k both/s1.txt both/m1.txt && ls -1 both"),
        s("sqlite3 rollback journal", "for d in both spillonly mainonly; do sqlite3 $d/db 'create table t(a, b); insert into t values (1, zeroblob(5000)), (2, zeroblob(70000)); update t set a = a + 10; delete from t where a = 11; pragma integrity_check; select a, length(b) from t'; done; ls -1 both spillonly mainonly"),
        s("sqlite3 wal", "for d in both spillonly mainonly; do sqlite3 $d/db 'pragma journal_mode=wal; create table t(a); insert into t values (1), (2); pragma wal_checkpoint(truncate); insert into t values (3); pragma integrity_check; select * from t'; sqlite3 $d/db 'select count(*) from t'; done; ls -1 both spillonly mainonly"),
        s("gzip -c", "gzip -c b.txt > spillonly/b.gz && zcat spillonly/b.gz && gzip -c big.bin | gzip -dc | cmp - big.bin"),
        s("gunzip existing", "gzip -c a.txt > b.txt.gz && gunzip b.txt.gz; echo rc=$?; gunzip -f b.txt.gz; cat b.txt"),
    ]

    /// Python's own snippets; `py` wraps them so each stays one line.
    static func py(_ name: String, _ code: String, mainMayGrow: Bool = false) -> Scenario {
        let quoted = code.replacingOccurrences(of: "'", with: "'\\''")
        return s(name, "python3 -c 'import os, sys, shutil, errno\n\(quoted)'", mainMayGrow: mainMayGrow)
    }

    static let python: [Scenario] = [
        py("os.listdir", "print(sorted(os.listdir('.'))); print(sorted(os.listdir('both'))); print(sorted(os.listdir(b'spillonly')))"),
        py("os.scandir", "for e in sorted(os.scandir('.'), key=lambda e: e.name): print(e.name, e.is_dir(), e.is_file(), e.is_symlink(), e.stat(follow_symlinks=False).st_mode)"),
        py("os.scandir merged", "for e in sorted(os.scandir('both'), key=lambda e: e.name): print(e.name, e.is_dir(), e.is_file() and e.stat().st_size)"),
        py("os.walk", "for r, ds, fs in sorted(os.walk('.')): print(r, sorted(ds), sorted(fs))"),
        py("os.walk bottom-up followlinks", "for r, ds, fs in sorted(os.walk('.', topdown=False, followlinks=True)): print(r, sorted(ds), sorted(fs))"),
        py("os.fwalk", "for r, ds, fs, fd in sorted(os.fwalk('both'), key=lambda t: t[0]): print(r, sorted(ds), sorted(fs), os.stat('.', dir_fd=fd).st_mode)"),
        py("os.rename spilled over main", "os.rename('b.txt', 'a.txt'); print(open('a.txt').read(), sorted(os.listdir('.')))"),
        py("os.replace main over spilled", "os.replace('a.txt', 'b.txt'); print(open('b.txt').read(), os.path.exists('a.txt'))"),
        py("os.rename merged dir", "os.rename('both', 'renamed'); print(sorted(os.listdir('renamed')), os.path.exists('both'))"),
        py("os.rename errors", "for a, b in [('both', 'empty-both'), ('spillonly', 'both'), ('b.txt', 'both'), ('both', 'b.txt'), ('nope', 'x'), ('b.txt', 'nope/x'), ('both', 'both/sub/x')]:\n  try: os.rename(a, b); print('ok', a, b)\n  except OSError as e: print(a, b, errno.errorcode[e.errno])\nprint(sorted(os.listdir('.')))"),
        py("os.replace dir over empty", "os.replace('mainonly', 'empty-both'); print(sorted(os.listdir('empty-both')))"),
        py("os.link and os.symlink", "os.link('b.txt', 'both/hb'); os.symlink('../spillonly', 'both/sl'); print(os.stat('b.txt').st_nlink, os.readlink('both/sl'), sorted(os.listdir('both/sl')))"),
        py("os.link main", "os.link('a.txt', 'spillonly/ha'); print(os.stat('a.txt').st_nlink, open('spillonly/ha').read())", mainMayGrow: true),
        py("os.link errors", "for a, b in [('b.txt', 'a.txt'), ('nope', 'x'), ('both', 'x'), ('a.txt', 'nope/x')]:\n  try: os.link(a, b); print('ok')\n  except OSError as e: print(a, b, errno.errorcode[e.errno])"),
        py("os.mkdir errors", "for d in ['both', 'b.txt', 'spillonly', 'nope/x', 'b.txt/x', 'newd']:\n  try: os.mkdir(d); print('ok', d)\n  except OSError as e: print(d, errno.errorcode[e.errno])"),
        py("os.makedirs", "os.makedirs('both/sub/a/b/c'); os.makedirs('both/sub/a', exist_ok=True); os.makedirs('spillonly/q/z', mode=0o700); print(sorted(os.listdir('both/sub/a')), oct(os.stat('spillonly/q/z').st_mode))"),
        py("os.rmdir errors", "for d in ['both', 'empty-both', 'b.txt', 'nope', 'empty-main', 'spillonly']:\n  try: os.rmdir(d); print('ok', d)\n  except OSError as e: print(d, errno.errorcode[e.errno])"),
        py("os.remove", "os.remove('b.txt'); os.unlink('both/m1.txt')\nfor p in ['both', 'nope', 'spillonly']:\n  try: os.remove(p)\n  except OSError as e: print(p, errno.errorcode[e.errno])\nprint(sorted(os.listdir('both')))"),
        py("os.chmod os.stat", "os.chmod('b.txt', 0o600); os.chmod('both', 0o711); print(oct(os.stat('b.txt').st_mode), oct(os.stat('both').st_mode), os.stat('link-b').st_size, os.lstat('link-b').st_size)"),
        py("os.utime", "os.utime('b.txt', ns=(1, 2000000000)); os.utime('both', (5, 6)); os.utime('link-b', (7, 8), follow_symlinks=False); print(os.stat('b.txt').st_mtime_ns, os.stat('both').st_mtime, os.lstat('link-b').st_mtime)"),
        py("os.path", "print([os.path.exists(p) for p in ['b.txt', 'both/s1.txt', 'nope', 'dangling']], os.path.isdir('spillonly'), os.path.islink('link-b'), os.path.getsize('bigs.bin'), os.path.realpath('spilldirlink/q').replace(os.getcwd(), 'T'), os.path.samefile('link-b', 'b.txt'))"),
        py("os.readlink", "print(os.readlink('link-b'), os.readlink('spilldirlink'), os.readlink('dirlink'))"),
        py("os.getcwd", "os.chdir('spillonly/q'); print(os.getcwd().replace(os.environ['PWD'], 'T'), sorted(os.listdir('.'))); os.chdir('..'); print(os.getcwd().replace(os.environ['PWD'], 'T'))"),
        py("dir_fd operations", "fd = os.open('both', os.O_RDONLY | os.O_DIRECTORY); print(sorted(os.listdir(fd))); print(os.stat('m1.txt', dir_fd=fd).st_size, os.stat('s1.txt', dir_fd=fd).st_size); f = os.open('new', os.O_CREAT | os.O_WRONLY, 0o640, dir_fd=fd); os.write(f, b'via fd'); os.close(f); os.unlink('m2.txt', dir_fd=fd); os.rename('s2.txt', 'moved', src_dir_fd=fd, dst_dir_fd=fd); os.mkdir('dd', dir_fd=fd); print(sorted(os.listdir('both')))"),
        py("os.scandir fd", "fd = os.open('both/sub', os.O_RDONLY); print(sorted(e.name for e in os.scandir(fd)))"),
        py("access", "print([os.access(p, os.X_OK) for p in ['exe.sh', 'mexe.sh', 'b.txt', 'both', 'nope']])"),
        py("shutil.copytree", "shutil.copytree('both', 'copy'); shutil.copytree('spillonly', 'copy/sp', symlinks=True); print(sorted((r, sorted(d), sorted(f)) for r, d, f in os.walk('copy')))"),
        py("shutil.rmtree merged", "shutil.rmtree('both'); print(sorted(os.listdir('.')))"),
        py("shutil.rmtree all", "[shutil.rmtree(d) for d in ['both', 'spillonly', 'mainonly', 'perm']]; print(sorted(os.listdir('.')))"),
        py("shutil.move", "shutil.move('both', 'spillonly/b'); shutil.move('a.txt', 'spillonly'); shutil.move('spillonly/p.txt', 'mainonly/'); print(sorted((r, sorted(d), sorted(f)) for r, d, f in os.walk('spillonly')), sorted(os.listdir('mainonly')))"),
        py("shutil.copy2", "os.utime('b.txt', (100, 200)); shutil.copy2('b.txt', 'mainonly/c'); shutil.copy2('a.txt', 'spillonly/'); print(os.stat('mainonly/c').st_mtime, open('spillonly/a.txt').read())"),
        py("shutil.make_archive", "shutil.make_archive('arc', 'tar', 'both'); import tarfile; print(sorted(tarfile.open('arc.tar').getnames())); shutil.unpack_archive('arc.tar', 'un'); print(sorted((r, sorted(d), sorted(f)) for r, d, f in os.walk('un')))"),
        py("glob and pathlib", "import glob, pathlib; print(sorted(glob.glob('**', recursive=True))); print(sorted(str(p) for p in pathlib.Path('both').rglob('*')))"),
        py("renameat2 via ctypes", "import ctypes; libc = ctypes.CDLL(None, use_errno=True); r = libc.renameat2(-100, b'b.txt', -100, b'a.txt', 1); print(r, errno.errorcode.get(ctypes.get_errno())); r = libc.renameat2(-100, b'b.txt', -100, b'a.txt', 2); print(r, open('a.txt').read(), open('b.txt').read()); r = libc.renameat2(-100, b'both', -100, b'spillonly', 2); print(r, sorted(os.listdir('both')), sorted(os.listdir('spillonly'))); r = libc.renameat2(-100, b'b.txt', -100, b'new', 1); print(r, sorted(os.listdir('.')))"),
        py("exchange merged with missing", "import ctypes; libc = ctypes.CDLL(None, use_errno=True); r = libc.renameat2(-100, b'both', -100, b'nope', 2); print(r, errno.errorcode.get(ctypes.get_errno())); r = libc.renameat2(-100, b'mainonly', -100, b'both', 2); print(r, sorted(os.listdir('both')), sorted(os.listdir('mainonly')))"),
        py("tempfile replace", "import tempfile; fd, p = tempfile.mkstemp(dir='both'); os.write(fd, b'new'); os.close(fd); os.replace(p, 'both/m1.txt'); fd, p = tempfile.mkstemp(dir='.'); os.close(fd); os.replace(p, 'b.txt'); print(open('both/m1.txt').read(), os.path.getsize('b.txt'), sorted(os.listdir('both')))"),
        py("xattrs", "os.setxattr('b.txt', 'user.k', b'spilled'); os.setxattr('a.txt', 'user.k', b'main'); os.setxattr('both', 'user.d', b'dir'); print(os.getxattr('b.txt', 'user.k'), os.getxattr('a.txt', 'user.k'), os.getxattr('both', 'user.d'), sorted(os.listxattr('b.txt')), sorted(os.listxattr('both'))); os.removexattr('both', 'user.d'); print(os.listxattr('both'))"),
        py("xattr errors", "for p in ['nope', 'b.txt']:\n  try: print(os.getxattr(p, 'user.none'))\n  except OSError as e: print(p, errno.errorcode[e.errno])"),
        py("os.truncate path", "os.truncate('b.txt', 2); os.truncate('both/s2.txt', 0); print(open('b.txt').read(), os.path.getsize('both/s2.txt'))"),
        py("os.chown merged", "os.chown('both', 11, 12); os.chown('link-b', 13, 14, follow_symlinks=False); print(os.stat('both').st_uid, os.stat('both').st_gid, os.lstat('link-b').st_uid, os.stat('b.txt').st_uid)"),
        py("os.mkfifo os.mknod", "import stat; os.mkfifo('both/f'); os.mknod('spillonly/n', 0o600 | stat.S_IFIFO); print(stat.S_ISFIFO(os.stat('both/f').st_mode), stat.S_ISFIFO(os.stat('spillonly/n').st_mode))"),
        py("subprocess spilled", "import subprocess; print(subprocess.run(['./exe.sh', 'sub'], capture_output=True).stdout); print(subprocess.run(['exe.sh', 'p'], capture_output=True, env={'PATH': os.getcwd()}).stdout); print(subprocess.run('./exe.sh shell', shell=True, capture_output=True).stdout)"),
        py("os.execv spilled", "os.execv('./exe.sh', ['exe.sh', 'execv'])"),
        py("os.posix_spawn spilled", "pid = os.posix_spawn('./exe.sh', ['exe.sh', 'spawn'], {}); print(os.waitpid(pid, 0)[1]); pid = os.posix_spawnp('exe.sh', ['exe.sh', 'spawnp'], {'PATH': os.getcwd()}); print(os.waitpid(pid, 0)[1])"),
        py("realpath and chdir", "os.chdir('spilldirlink'); print(os.path.realpath('.').replace(os.environ['PWD'], 'T'), os.path.realpath('q/r.txt').replace(os.environ['PWD'], 'T'), sorted(os.listdir('q')))"),
    ]

    static let git: [Scenario] = [
        s("git init add commit", "git init -q repo && cd repo && echo hi > f && mkdir d && echo there > d/g && git add . && git commit -qm one && git log --format='%H %s' && git ls-files && git status --porcelain"),
        s("git in merged dir", "cd both && git init -q && git add -A && git commit -qm all && git ls-files && git rev-parse HEAD 'HEAD^{tree}' && git status --porcelain"),
        s("git mv rm commit", "cd both && git init -q && git add -A && git commit -qm all && git mv s1.txt renamed.txt && git mv m1.txt sub/ && git rm -q m2.txt && git commit -qm two && git ls-files && git rev-parse HEAD && ls -1R"),
        s("git branch checkout", "git init -q r && cd r && echo a > a && git add a && git commit -qm a && git checkout -qb b2 && echo b > b && mkdir dir && echo c > dir/c && git add -A && git commit -qm b && git checkout -q main && ls -1a && git checkout -q b2 && ls -1a && git log --format=%H"),
        s("git status untracked", "cd both && git init -q && git add s1.txt m1.txt && git commit -qm part && touch sub/new && git status --porcelain --untracked-files=all"),
        s("git gc", "git init -q r && cd r && for i in 1 2 3; do echo $i > f$i; git add f$i; git commit -qm c$i; done && git gc -q && git count-objects -v | grep -E '^(count|in-pack|packs)' && git log --format=%H"),
        s("git clone local", "git init -q r && cd r && echo x > x && git add x && git commit -qm x && cd .. && git clone -q r r2 && cat r2/x && git -C r2 log --format=%H"),
    ]

    /// C programs making one call each (CShim/tests/ns_probe.c): the entry points shell tools do
    /// not reach (readdir_r, telldir/seekdir, scandir, getdents64, glob, mkstemp, renameat2,
    /// posix_spawn, exec with a rebuilt environment). `$P` is the glibc build.
    static let probe: [Scenario] = [
        s("probe list", "for d in both . spillonly mainonly dirlink spilldirlink/q nope b.txt; do $P list $d; done"),
        s("probe readdir_r", "for d in both . both/sub; do $P readdir_r $d; done"),
        s("probe fdopendir", "for d in both . spillonly mainonly; do $P fdopendir $d; done"),
        s("probe scandir", "for d in both . both/sub nope; do $P scandir $d; done"),
        s("probe telldir seekdir", "for d in both . both/sub spillonly; do $P tell $d; done"),
        s("probe getdents64", "for d in both . spillonly both/sub mainonly; do $P getdents $d; done"),
        s("probe glob", "for g in 'both/*' '*/*.txt' '*/' 'dirlink/s*' 'nope*'; do $P glob \"$g\"; done"),
        s("probe realpath", "for p in spillonly/q dirlink/s1.txt b.txt both/sub/.. spilldirlink nope; do $P realpath $p; done"),
        s("probe getcwd", "for d in spillonly/q both mainonly both/sub; do $P cwd $d; done"),
        s("probe mkstemp", "for t in both/tXXXXXX spillonly/tXXXXXX mainonly/tXXXXXX nope/tXXXXXX; do $P mkstemp $t; done"),
        s("probe mkdir rmdir", "$P mkdir both/new; $P rmdir both/new; $P mkdir spillonly/x; $P rmdir empty-both; $P rmdir both; $P mkdir b.txt; $P rmdir b.txt; $P mkdir b.txt/x; ls -1"),
        s("probe rename", "$P rename b.txt a.txt; $P rename a.txt spillonly/a; $P rename spillonly/a mainonly/a; $P rename both x/y; $P rename both both/sub/z; $P rename empty-main empty-both; ls -1R"),
        s("probe renameat2", "$P noreplace b.txt a.txt; $P exchange b.txt a.txt; cat a.txt b.txt; $P exchange both mainonly; ls -1 both mainonly; $P exchange b.txt nope; $P noreplace b.txt fresh; ls -1"),
        s("probe links and nodes", "$P link b.txt both/hb; $P link both/m1.txt spillonly/hm; $P symlink ../b.txt both/sl; $P readlink both/sl; $P mknod spillonly/fifo; $P link nope x; $P symlink x b.txt; ls -1 both spillonly", mainMayGrow: true),
        s("probe attributes", "$P chmod b.txt 600; $P chmod both 700; $P truncate b.txt 2; $P stat b.txt; $P stat both; $P stat link-b; $P truncate nope 1; $P readlink link-b; $P readlink b.txt"),
        s("probe exec", "$P exec ./exe.sh execv; PATH=$PWD:$PATH $P execvp exe.sh execvp; $P spawn ./exe.sh; PATH=$PWD:$PATH $P spawnp exe.sh; $P spawnp nope-such-program; $P exec ./nope"),
        s("probe rebuilt environment", "$P clean-exec /bin/sh -c 'test \"$LD_PRELOAD\" = \"$0\" && echo environment as the parent had it; ls spillonly both' \"$LD_PRELOAD\""),
    ]

    /// The same calls from a musl-linked program with the musl preload library (`M` runs it).
    static let musl: [Scenario] = {
        let m = "M() { LD_PRELOAD=$MUSL_PRELOAD $NSPROBE_MUSL \"$@\"; }; "
        return [
            s("musl list", m + "for d in both . spillonly mainonly dirlink spilldirlink/q nope b.txt; do M list $d; done"),
            s("musl readdir_r", m + "for d in both . both/sub; do M readdir_r $d; done"),
            s("musl fdopendir", m + "for d in both . spillonly mainonly; do M fdopendir $d; done"),
            s("musl scandir", m + "for d in both . both/sub nope; do M scandir $d; done"),
            s("musl telldir seekdir", m + "for d in both . both/sub spillonly; do M tell $d; done"),
            s("musl getdents", m + "for d in both . spillonly both/sub mainonly; do M getdents $d; done"),
            s("musl realpath", m + "for p in spillonly/q dirlink/s1.txt b.txt both/sub/.. spilldirlink nope; do M realpath $p; done"),
            s("musl getcwd", m + "for d in spillonly/q both mainonly both/sub; do M cwd $d; done"),
            s("musl mkstemp", m + "for t in both/tXXXXXX spillonly/tXXXXXX mainonly/tXXXXXX nope/tXXXXXX; do M mkstemp $t; done"),
            s("musl mkdir rmdir", m + "M mkdir both/new; M rmdir both/new; M mkdir spillonly/x; M rmdir empty-both; M rmdir both; M mkdir b.txt; M rmdir b.txt; ls -1"),
            s("musl rename", m + "M rename b.txt a.txt; M rename a.txt spillonly/a; M rename spillonly/a mainonly/a; M rename both x/y; M rename empty-main empty-both; ls -1R"),
            s("musl links and attributes", m + "M link b.txt both/hb; M symlink ../b.txt both/sl; M readlink both/sl; M mknod spillonly/fifo; M chmod b.txt 600; M truncate b.txt 2; M stat b.txt; M stat both; ls -1 both spillonly"),
            s("musl exec", m + "cp $NSPROBE_MUSL spillonly/mp && M exec spillonly/mp list both && M spawn spillonly/mp list spillonly && PATH=$PWD/spillonly:$PATH M spawnp mp list . && PATH=$PWD/spillonly:$PATH M execvp mp stat b.txt"),
            s("musl rebuilt environment", m + "cp $NSPROBE_MUSL spillonly/mp && M clean-exec spillonly/mp list spillonly"),
        ]
    }()

    /// POSIX fidelity (issue 16): each class of call the kernel answers with a specific errno, made
    /// by CShim/tests/posix_probe.c (`X` the glibc build, `XM` the musl build with the musl
    /// library), one line per call with its result and errno.
    static let posix: [Scenario] = {
        let x = "X() { $POSIX_PROBE \"$@\"; }; XM() { LD_PRELOAD=$MUSL_PRELOAD $POSIX_PROBE_MUSL \"$@\"; }; "
        let nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups"
        return [
            s("posix ENOTDIR", x + "X calls a.txt/x b.txt/x spillonly/p.txt/x both/s1.txt/x both/m1.txt/x/y link-b/x spillonly/q/r.txt/ bigs.bin/."),
            s("posix ENOTDIR musl", x + "XM calls a.txt/x b.txt/x spillonly/p.txt/x both/s1.txt/x link-b/x spillonly/q/r.txt/"),
            s("posix ELOOP", x + "ln -s l2 l1 && ln -s l1 l2 && mkdir spillonly/L && ln -s ../L/b spillonly/L/a && ln -s a spillonly/L/b && ln -s self both/self && X look l1 l1/x spillonly/L/a spillonly/L/a/x both/self both/self/x && XM look l1/x spillonly/L/a"),
            s("posix EACCES non-root", x + "mkdir -m 700 spillonly/priv both/priv && touch spillonly/priv/f && chown -R 1234:1234 spillonly/priv both/priv && \(nobody) $POSIX_PROBE calls perm/f-main perm/f-spill perm/nope perm/sub/x spillonly/priv/f spillonly/priv/nope both/priv/x"),
            s("posix EFAULT", x + "X efault; XM efault"),
            s("posix unknown flags", x + "X flags b.txt; X flags a.txt; X flags spillonly/p.txt; XM flags b.txt"),
            s("posix 4095-byte paths", x + "X long both; X long spillonly; X long mainonly; X long spillonly/q"),
            s("posix dot names", x + "X dots spillonly/q; X dots both; X dots mainonly; X dots spillonly; XM dots spillonly/q"),
            s("posix listing dot-dot", "ls -la spillonly spillonly/q both mainonly | grep -v '^total' | awk '{print $1, $NF}'; stat -c '%n %F %a %u' spillonly/.. spillonly/q/.. spillonly/q/../.. both/sub/.. mainonly/y/.."),
            s("posix open-unlinked", x + "X unlinked b.txt; X unlinked a.txt; X unlinked spillonly/new; X unlinked both/m1.txt; X unlinked mainonly/new; XM unlinked both/s1.txt"),
            s("posix unix sockets", x + "X sockets spillonly; X sockets both; X sockets mainonly; X sockets spillonly/q; XM sockets spillonly"),
            // The spill area's name is longer than sun_path's 108 bytes; the program's is not.
            s("posix unix sockets long spill path", x + "L=spillonly/$(printf '%080d' 0 | tr 0 l) && mkdir -p $L both/$L && X sockets $L && XM sockets $L && X sockets both/$L"),
            // A real server: python3's socketserver, a stream and a datagram server in a new
            // directory of a spilled one; the datagram handler answers the address recvfrom gave.
            py("posix unix socket servers python3", """
                import socket, socketserver, threading
                os.mkdir('spillonly/run')
                class Echo(socketserver.StreamRequestHandler):
                    def handle(self): self.wfile.write(self.rfile.readline().upper())
                class Upper(socketserver.DatagramRequestHandler):
                    def handle(self): self.wfile.write(self.rfile.read().upper() + b' for ' + self.client_address.encode())
                with socketserver.UnixStreamServer('spillonly/run/app.sock', Echo) as srv, socketserver.UnixDatagramServer('spillonly/run/dg.sock', Upper) as dg:
                    for s in (srv, dg): threading.Thread(target=s.serve_forever, daemon=True).start()
                    print(srv.server_address, dg.server_address, sorted(os.listdir('spillonly/run')))
                    c = socket.socket(socket.AF_UNIX); c.settimeout(20); c.connect('spillonly/run/app.sock'); c.sendall(b'ping\\n')
                    print(c.makefile('rb').readline(), c.getpeername())
                    d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); d.settimeout(20); d.bind('spillonly/run/cli.sock')
                    d.sendto(b'hello', 'spillonly/run/dg.sock'); print(d.recvfrom(100), d.getsockname())
                    c.close(); d.close(); srv.shutdown(); dg.shutdown()
                for n in sorted(os.listdir('spillonly/run')): print(n, os.stat('spillonly/run/' + n).st_mode >> 12); os.unlink('spillonly/run/' + n)
                """),
        ]
    }()

    enum Group: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case shell, coreutils, archives, python, git, probe, musl, posix
        var testDescription: String { rawValue }
        var scenarios: [Scenario] {
            switch self {
            case .coreutils: ParityTests.coreutils
            case .shell: ParityTests.shell
            case .archives: ParityTests.archives
            case .python: ParityTests.python
            case .git: ParityTests.git
            case .probe: ParityTests.probe
            case .musl: ParityTests.musl
            case .posix: ParityTests.posix
            }
        }
    }

    // MARK: - Running

    /// What one run left: what the program printed, what the union looks like, and the raw trees.
    struct Outcome {
        let status: Int32
        let stdout: String
        let stderr: String
        let observed: String
        let main: TreeSnapshot
        let spill: TreeSnapshot
        let tree: String

        /// A non-directory's kind and content, absolute link targets made independent of where
        /// the run's tree was.
        func content(_ name: String) -> Data? {
            guard let entry = spill.entries[name] ?? main.entries[name] else { return nil }
            guard entry.kind == .symlink else { return Data(entry.kind.rawValue.utf8) + entry.content }
            let target = String(decoding: entry.content, as: UTF8.self).replacingOccurrences(of: tree, with: "$T")
            return Data(("l" + target).utf8)
        }
    }

    /// The listing of the tree every run takes afterwards, through the union (the library's runs
    /// have it preloaded). Inside `.git` only names count: git's index holds inode numbers.
    static let observer = """
        find . -mindepth 1 \\( -path '*/.git/*' -printf '%y %p\\n' \\) -o \\( -type d -printf 'd %m %U:%G %p\\n' \\) \
        -o \\( -type l -printf 'l %U:%G %p -> %l\\n' \\) -o \\( -type f -printf 'f %m %U:%G %s %n %p\\n' \\) \
        -o -printf '%y %m %U:%G %p\\n' | LC_ALL=C sort
        find . -type f ! -path '*/.git/*' -exec md5sum {} + | LC_ALL=C sort -k2
        """

    struct Layout {
        let main: LoopFilesystem
        let sub: LoopFilesystem
        let home: String
        let slots: [Mode: String]
    }

    func environment(_ mode: Mode, tree: String, spill: String, layout: Layout) -> [String: String] {
        var env = [
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LC_ALL": "C", "TZ": "UTC", "HOME": layout.home, "PWD": tree,
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": layout.home + "/gitconfig",
            "GIT_AUTHOR_NAME": "Parity", "GIT_AUTHOR_EMAIL": "parity@example.com",
            "GIT_COMMITTER_NAME": "Parity", "GIT_COMMITTER_EMAIL": "parity@example.com",
            "GIT_AUTHOR_DATE": "2020-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2020-01-01T00:00:00Z",
        ]
        env["P"] = Paths.testProgram("ns-probe")
        env["NSPROBE_MUSL"] = Paths.testProgram("ns-probe-musl")
        env["POSIX_PROBE"] = Paths.testProgram("posix-probe")
        env["POSIX_PROBE_MUSL"] = Paths.testProgram("posix-probe-musl")
        env["MUSL_PRELOAD"] = mode == .plain ? "" : Paths.muslLibrary
        if mode != .plain, let slot = layout.slots[mode] {
            env["LD_PRELOAD"] = Paths.glibcLibrary
            env["SPILLWAY_SLOT"] = slot
            env["SPILLWAY_SPILL"] = spill
            env["SPILLWAY_ROOT"] = tree
        }
        return env
    }

    func run(_ scenario: Scenario, index: Int, group: Group, mode: Mode, layout: Layout) throws -> Outcome {
        let base = "\(group.rawValue)/\(index)-\(mode.rawValue)"
        let tree = layout.main.mountPoint + "/" + base + "/tree"
        let spill = layout.sub.mountPoint + "/" + base + "/spill"
        try Self.fixture.materialise(tree: tree, spill: spill, split: mode == .spilling || mode == .draining)
        let env = environment(mode, tree: tree, spill: spill, layout: layout)
        // One process runs the scenario (its output and status to files beside the tree) and
        // then the observer, from the tree's top.
        let runDir = layout.main.mountPoint + "/" + base
        let wrapper = "{ /bin/sh -c \"$1\"; echo $? > \"$2/rc\"; } > \"$2/out\" 2> \"$2/err\" < /dev/null; cd \"$3\" && {\n\(Self.observer)\n}"
        let observed = try Command.run(["/bin/sh", "-c", wrapper, "sh", scenario.script, runDir, tree],
                                       environment: env, directory: tree)
        func read(_ name: String) -> String { (try? String(contentsOfFile: runDir + "/" + name, encoding: .utf8)) ?? "" }
        let status = Int32(read("rc").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        func normalise(_ text: String) -> String {
            text.replacingOccurrences(of: tree, with: "$T").replacingOccurrences(of: spill, with: "$S")
        }
        return Outcome(status: status, stdout: normalise(read("out")), stderr: normalise(read("err")),
                       observed: normalise(observed.stdout + observed.stderr),
                       main: TreeSnapshot(root: tree), spill: TreeSnapshot(root: spill), tree: tree)
    }

    /// Every difference between a run with the library and the plain run, and every broken
    /// placement rule; empty when the run is right.
    func problems(_ outcome: Outcome, plain: Outcome, mode: Mode, scenario: Scenario,
                  startMain: TreeSnapshot) -> [String] {
        var found: [String] = []
        if outcome.status != plain.status { found.append("exit status \(outcome.status), plain \(plain.status)") }
        if outcome.stdout != plain.stdout { found.append("stdout:\n\(outcome.stdout)--- plain:\n\(plain.stdout)") }
        if outcome.stderr != plain.stderr { found.append("stderr:\n\(outcome.stderr)--- plain:\n\(plain.stderr)") }
        if outcome.observed != plain.observed {
            let mine = Set(outcome.observed.split(separator: "\n")), theirs = Set(plain.observed.split(separator: "\n"))
            found.append("union listing differs; only here: \(mine.subtracting(theirs).sorted()); only plain: \(theirs.subtracting(mine).sorted())")
        }
        // Placement: each non-directory in one place, the union holding what the plain run holds.
        let mainNames = outcome.main.nonDirectories, spillNames = outcome.spill.nonDirectories
        let twice = mainNames.intersection(spillNames)
        if !twice.isEmpty { found.append("in both places: \(twice.sorted())") }
        let leftovers = outcome.spill.entries.keys.filter { $0.split(separator: "/").last?.hasPrefix(".spillway-") == true }
        if !leftovers.isEmpty { found.append("library leftovers in the spill area: \(leftovers.sorted())") }
        let unionNames = mainNames.union(spillNames)
        if unionNames != plain.main.nonDirectories {
            found.append("names: extra \(unionNames.subtracting(plain.main.nonDirectories).sorted()), missing \(plain.main.nonDirectories.subtracting(unionNames).sorted())")
        }
        let unionDirs = outcome.main.directories.union(outcome.spill.directories)
        if unionDirs != plain.main.directories {
            found.append("directories: extra \(unionDirs.subtracting(plain.main.directories).sorted()), missing \(plain.main.directories.subtracting(unionDirs).sorted())")
        }
        for name in unionNames.intersection(plain.main.nonDirectories) where !name.contains(".git/") && !name.hasPrefix(".git") {
            let mine = outcome.content(name), theirs = plain.content(name)
            if mine != theirs {
                func show(_ data: Data?) -> String { data.map { String(decoding: $0.prefix(60), as: UTF8.self) } ?? "-" }
                found.append("\(name): \(show(mine)) vs plain \(show(theirs))")
            }
        }
        switch mode {
        case .normal:
            if !outcome.spill.entries.isEmpty { found.append("normal wrote to the spill area: \(outcome.spill.entries.keys.sorted())") }
        case .spilling where !scenario.mainMayGrow:
            let before = startMain.nonDirectories.count, after = mainNames.count
            if after > before { found.append("spilling added names on the main disk: \(mainNames.subtracting(startMain.nonDirectories).sorted())") }
            if outcome.main.fileBytes > startMain.fileBytes {
                found.append("spilling grew the main disk: \(startMain.fileBytes) -> \(outcome.main.fileBytes) bytes")
            }
        default:
            break
        }
        return found
    }

    @Test(arguments: Group.allCases)
    func parity(group: Group) throws {
        try #require(getuid() == 0, "these tests mount loop devices and must run as root")
        try withLoopFilesystems(["btrfs", "ext4"], megabytes: 512) { filesystems in
            let home = filesystems[1].mountPoint + "/home"
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            try "[init]\n\tdefaultBranch = main\n[gc]\n\tauto = 0\n[pack]\n\tthreads = 1\n"
                .write(toFile: home + "/gitconfig", atomically: true, encoding: .utf8)
            var slots: [Mode: String] = [:]
            for mode in [Mode.normal, .spilling, .draining] {
                let slot = filesystems[1].mountPoint + "/slot-\(mode.rawValue)"
                try Command.check([Paths.spillway, "slot", "create", slot, "--state", mode.rawValue])
                slots[mode] = slot
            }
            let layout = Layout(main: filesystems[0], sub: filesystems[1], home: home, slots: slots)
            // The starting tree's main-disk half while spilling, for the placement rules.
            let probe = filesystems[0].mountPoint + "/start"
            try Self.fixture.materialise(tree: probe + "/tree", spill: filesystems[1].mountPoint + "/start", split: true)
            let startMain = TreeSnapshot(root: probe + "/tree")
            var failures = 0
            for (index, scenario) in group.scenarios.enumerated() {
                let plain = try run(scenario, index: index, group: group, mode: .plain, layout: layout)
                // PARITY_SHOW=<part of a name> prints what those scenarios print without the library.
                if let show = ProcessInfo.processInfo.environment["PARITY_SHOW"], scenario.name.contains(show) {
                    print("SHOW \(scenario.name) exit \(plain.status)\n\(plain.stdout)\(plain.stderr)")
                }
                for mode in [Mode.normal, .spilling, .draining] {
                    let outcome = try run(scenario, index: index, group: group, mode: mode, layout: layout)
                    let found = problems(outcome, plain: plain, mode: mode, scenario: scenario, startMain: startMain)
                    if !found.isEmpty {
                        failures += 1
                        Issue.record("\(group.rawValue) / \(scenario.name) [\(mode.rawValue)]:\n\(found.joined(separator: "\n"))\nscript: \(scenario.script)")
                    }
                }
            }
            #expect(failures == 0, "\(failures) of \(group.scenarios.count * 3) runs differ from plain libc")
        }
    }

    /// The table is big enough to mean something, and every scenario is distinct.
    @Test func scenarioTable() {
        let all = Group.allCases.flatMap(\.scenarios)
        #expect(all.count >= 100)
        #expect(Set(all.map(\.name)).count == all.count, "duplicate scenario names")
    }
}
