from vtai.cli import run

run()
