<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<!-- Qt 自带的 qtbase_zh_CN.qm 没有覆盖的 Qt 字符串（Qt 6 改了原文：“&Look in:”等），否则选择文件的对话框
     仍显示“Look in / Files of type / Folder”。改动后：
     pyside6-lrelease resources/i18n/shebao_zh_CN.ts -qm resources/i18n/shebao_zh_CN.qm -->
<TS version="2.1" language="zh_CN">
<context>
    <name>QFileDialog</name>
    <message><source>&amp;Look in:</source><translation>查找范围(&amp;I)：</translation></message>
    <message><source>Files of &amp;type:</source><translation>文件类型(&amp;T)：</translation></message>
    <message><source>File &amp;name:</source><translation>文件名(&amp;N)：</translation></message>
</context>
<context>
    <name>QAbstractFileIconProvider</name>
    <message><source>Folder</source><translation>文件夹</translation></message>
    <message><source>File Folder</source><translation>文件夹</translation></message>
    <message><source>Drive</source><translation>驱动器</translation></message>
    <message><source>Alias</source><translation>别名</translation></message>
    <message><source>Shortcut</source><translation>快捷方式</translation></message>
    <message><source>Unknown</source><translation>未知</translation></message>
    <message><source>%1 File</source><translation>%1 文件</translation></message>
</context>
<context>
    <name>QFileSystemModel</name>
    <message><source>Name</source><translation>名称</translation></message>
    <message><source>Size</source><translation>大小</translation></message>
    <message><source>Kind</source><translation>类型</translation></message>
    <message><source>Type</source><translation>类型</translation></message>
    <message><source>Date Modified</source><translation>修改日期</translation></message>
</context>
</TS>
