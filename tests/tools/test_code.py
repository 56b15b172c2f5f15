"""The code-interpreter route and run_python over the real bwrap sandbox, scripted by the fake server."""

from __future__ import annotations

from pathlib import Path

from vtai.events import File, Image, Status, TextDelta, ToolCall, ToolResult
from vtai.messages import Conversation, FilePart, Message, TextPart
from vtai.testing import Text, ToolCalls, ToolCallSpec

from .conftest import routed_options, run, tool_options, wire_engine

PLOT = """import numpy as np
import matplotlib.pyplot as plt
x = np.linspace(-3, 3, 61)
plt.plot(x, x ** 2)
plt.title("y = x^2")
plt.show()
print("max", (x ** 2).max())
"""

SALES = """import pandas as pd
import matplotlib.pyplot as plt
df = pd.read_csv("sales.csv", parse_dates=["date"])
monthly = df.groupby(df["date"].dt.strftime("%Y-%m"))["sales"].sum()
monthly.plot(kind="bar")
plt.show()
print(monthly.to_dict())
"""


def text_of(events):
    return "".join(e.text for e in events if isinstance(e, TextDelta))


async def test_plot_comes_back_as_an_image(provider_env, routed, sandbox):
    provider_env.enqueue(ToolCalls([ToolCallSpec("run_python", {"code": PLOT}, id="call_plot")]))
    provider_env.enqueue(Text("Here is the parabola."))
    engine = routed("code", {"sandbox": sandbox})
    events, conv = await run(engine, "plot y = x^2 from -3 to 3", routed_options())
    call = next(e for e in events if isinstance(e, ToolCall))
    result = next(e for e in events if isinstance(e, ToolResult))
    image = next(e for e in events if isinstance(e, Image))
    assert call.name == "run_python" and call.arguments == {"code": PLOT}
    assert not result.is_error and "max 9.0" in result.output and "figure-1.png" in result.output
    assert image.mime == "image/png" and Path(image.path).read_bytes().startswith(b"\x89PNG")
    assert text_of(events) == "Here is the parabola."
    first = provider_env.requests_to("chat")[0].json
    assert [t["function"]["name"] for t in first["tools"]] == ["run_python"]
    assert "run_python tool" in first["messages"][0]["content"]
    assert conv.messages[2].role == "tool" and "max 9.0" in conv.messages[2].content


async def test_uploaded_csv_is_analysed_in_the_work_folder_and_state_persists(provider_env, routed, sandbox,
                                                                               tmp_path):
    csv = tmp_path / "upload-1234.csv"
    csv.write_text("date,sales\n2025-01-05,10\n2025-01-20,5\n2025-02-03,7\n2025-03-11,1\n2025-03-12,2\n")
    provider_env.enqueue(ToolCalls([ToolCallSpec("run_python", {"code": SALES})]))
    provider_env.enqueue(Text("January sold most."))
    engine = routed("code", {"sandbox": sandbox})
    message = Message("user", [TextPart("plot sales by month"),
                               FilePart(name="sales.csv", mime="text/csv", path=str(csv), size=csv.stat().st_size)])
    conv = Conversation(id="sales-thread")
    events, _ = await run(engine, message, routed_options(), conv)
    assert any(isinstance(e, Status) and "Copied sales.csv" in e.text for e in events)
    result = next(e for e in events if isinstance(e, ToolResult))
    assert not result.is_error, result.output
    assert "{'2025-01': 15, '2025-02': 7, '2025-03': 3}" in result.output
    assert any(isinstance(e, Image) and Path(e.path).read_bytes().startswith(b"\x89PNG") for e in events)
    system = provider_env.requests_to("chat")[0].json["messages"][0]["content"]
    assert "uploaded these files to the working directory: sales.csv" in system

    # Same conversation, next message: the interpreter still has `df` (a notebook, not a fresh process).
    provider_env.enqueue(ToolCalls([ToolCallSpec("run_python", {"code": "print(len(df), df.sales.sum())"})]))
    provider_env.enqueue(Text("5 rows, 25 in total."))
    events, _ = await run(engine, "how many rows?", routed_options(), conv)
    result = next(e for e in events if isinstance(e, ToolResult))
    assert result.output == "stdout:\n5 25\n"


async def test_failing_code_is_an_error_result_the_model_sees(provider_env, routed, sandbox):
    provider_env.enqueue(ToolCalls([ToolCallSpec("run_python", {"code": "1 / 0"})]))
    provider_env.enqueue(Text("Division by zero; fixed."))
    events, _ = await run(routed("code", {"sandbox": sandbox}), "divide", routed_options())
    result = next(e for e in events if isinstance(e, ToolResult))
    assert result.is_error and "ZeroDivisionError" in result.output
    tool_msg = next(m for m in provider_env.requests_to("chat")[1].json["messages"] if m["role"] == "tool")
    assert "ZeroDivisionError" in tool_msg["content"]


async def test_without_a_sandbox_it_says_so_and_runs_nothing(provider_env, routed):
    provider_env.enqueue(Text("You could run: print(2**100)"))
    engine = routed("code", {"sandbox_error": "bubblewrap (`bwrap`) was not found."})
    events, _ = await run(engine, "compute 2**100", routed_options())
    text = text_of(events)
    assert text.startswith("_⚠️ Code execution is unavailable: bubblewrap (`bwrap`) was not found.")
    assert text.endswith("You could run: print(2**100)")
    assert not any(isinstance(e, ToolCall) for e in events)
    assert "tools" not in provider_env.requests_to("chat")[-1].json


async def test_assistant_offers_run_python_only_with_a_sandbox(provider_env, sandbox):
    provider_env.enqueue(Text("ok"))
    provider_env.enqueue(Text("ok"))
    await run(wire_engine({"sandbox": sandbox}), "hi", tool_options())
    await run(wire_engine(), "hi", tool_options())
    first, second = provider_env.requests_to("chat")
    assert sorted(t["function"]["name"] for t in first.json["tools"]) == ["fetch_url", "run_python", "web_search"]
    assert sorted(t["function"]["name"] for t in second.json["tools"]) == ["fetch_url", "web_search"]


async def test_assistant_profile_copies_uploads_for_run_python(provider_env, sandbox, tmp_path):
    data = tmp_path / "stored-upload"
    data.write_text("a,b\n1,2\n3,4\n")
    provider_env.enqueue(ToolCalls([ToolCallSpec("run_python", {
        "code": "import pandas as pd\nprint(pd.read_csv('numbers.csv').sum().to_dict())"})]))
    provider_env.enqueue(Text("a sums to 4, b to 6."))
    message = Message("user", [TextPart("sum the columns"),
                               FilePart(name="../../numbers.csv", mime="text/csv", path=str(data))])
    events, _ = await run(wire_engine({"sandbox": sandbox}), message, tool_options())
    result = next(e for e in events if isinstance(e, ToolResult))
    assert result.output == "stdout:\n{'a': 4, 'b': 6}\n"
    system = provider_env.requests_to("chat")[0].json["messages"][0]["content"]
    assert "uploaded these files to run_python's working directory: numbers.csv" in system


async def test_unsafe_local_backend_is_announced_in_every_answer(provider_env, routed, tmp_path):
    from vtai.tools.sandbox import UnsafeLocalSandbox

    box = UnsafeLocalSandbox(tmp_path / "unsafe")
    try:
        provider_env.enqueue(ToolCalls([ToolCallSpec("run_python", {"code": "print(6 * 7)"})]))
        provider_env.enqueue(Text("42."))
        events, _ = await run(routed("code", {"sandbox": box}), "6 times 7?", routed_options())
    finally:
        await box.close()
    assert text_of(events) == "_⚠️ The code interpreter runs in UNSAFE local mode: code is not isolated._\n\n42."
    assert next(e for e in events if isinstance(e, ToolResult)).output == "stdout:\n42\n"


async def test_files_the_code_writes_come_back_as_files(provider_env, routed, sandbox):
    code = "import os\nos.makedirs('out', exist_ok=True)\nopen('out/report.csv', 'w').write('a,b\\n1,2\\n')"
    provider_env.enqueue(ToolCalls([ToolCallSpec("run_python", {"code": code})]))
    provider_env.enqueue(Text("Wrote out/report.csv."))
    events, _ = await run(routed("code", {"sandbox": sandbox}), "write a report", routed_options())
    file = next(e for e in events if isinstance(e, File))
    assert file.name == "report.csv" and file.mime == "text/csv"
    assert Path(file.path).read_text() == "a,b\n1,2\n" and "tool-outputs" in file.path
    assert "files written: out/report.csv" in next(e for e in events if isinstance(e, ToolResult)).output
